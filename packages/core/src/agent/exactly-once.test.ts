import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileSessionStore } from '../sessions/file.js';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { Agent } from './agent.js';
import { refundLines, refundTool } from './fixtures/refund-tool.js';
import type { RunState } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = () => mkdtempSync(path.join(tmpdir(), 'lookout-once-'));
const wire = (state: RunState | undefined) => JSON.parse(JSON.stringify(state)) as RunState;

/** A paused run: the model asked for a refund that needs approval. */
async function pausedRefund(dir: string, after: ConstructorParameters<typeof ScriptedModel>[0]['steps'] = [say('Refunded.')]) {
  const effects = path.join(dir, 'effects.jsonl');
  const sessions = new FileSessionStore(path.join(dir, 'sessions'));
  const model = new ScriptedModel({ steps: [[callTool('refund', { orderId: 'A1', amount: 80 }, 'call_1')], ...after] });
  const agent = new Agent({ model, tools: [refundTool(effects)], sessions });
  const paused = await agent.run('refund A1 please', { sessionId: 'cust-1' });
  expect(paused.status).toBe('awaiting-approval');
  return { agent, effects, sessions, paused: wire(paused.state) };
}

describe('exactly-once tool effects', () => {
  it('a model step failing after an approved call ends the turn as an error that keeps the result, and the paused state cannot run it again', async () => {
    const dir = tmp();
    const { agent, effects, paused } = await pausedRefund(dir, [[{ type: 'error', error: 'engine down' }]]);
    await expect(agent.resume(paused, { approve: true })).rejects.toMatchObject({ code: 'agent-model-failed' });
    expect(refundLines(effects)).toHaveLength(1);

    const { turns } = await agent.sessions.load('cust-1');
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ status: 'error', error: { code: 'agent-model-failed' } });
    expect(turns[0]!.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(turns[0]!.audit.filter((e) => e.kind === 'tool-call')).toMatchObject([{ tool: 'refund', status: 'ok' }]);

    // Approving the same paused state again (a retry, a second click) is refused: the run ended.
    await expect(agent.resume(paused, { approve: true })).rejects.toMatchObject({ code: 'agent-invalid-state' });
    expect(refundLines(effects)).toHaveLength(1);
  });

  it('records the execution (with its idempotency key) before the tool runs, and the result as soon as it returns', async () => {
    const dir = tmp();
    const { agent, effects, paused } = await pausedRefund(dir);
    const checkpoints: RunState[] = [];
    const done = await agent.resume(paused, {
      approve: true,
      checkpoint: (state) => {
        // The effect file tells whether the tool had run when this checkpoint was taken.
        checkpoints.push({ ...state, effectsSoFar: refundLines(effects).length } as RunState);
      },
    });
    expect(done.status).toBe('completed');
    expect(checkpoints).toHaveLength(2);
    const [started, finished] = checkpoints as Array<RunState & { effectsSoFar: number }>;
    expect(started!.effectsSoFar).toBe(0);
    expect(started!.pending[0]!.execution).toMatchObject({ idempotencyKey: `${paused.runId}:call_1` });
    expect(started!.pending[0]!.result).toBeUndefined();
    expect(finished!.effectsSoFar).toBe(1);
    expect(finished!.pending[0]!.result).toMatchObject({ isError: false, content: '{"refunded":80}' });
    expect(refundLines(effects)[0]!.key).toBe(`${paused.runId}:call_1`);
  });

  it('a checkpoint that cannot be written stops the run before the tool runs', async () => {
    const dir = tmp();
    const { agent, effects, paused } = await pausedRefund(dir);
    await expect(
      agent.resume(paused, {
        approve: true,
        checkpoint: () => {
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(refundLines(effects)).toHaveLength(0);
    const { turns } = await agent.sessions.load('cust-1');
    // A failed resume keeps its messages (they were shown as pending); the call says it never ran.
    expect(turns[0]).toMatchObject({ status: 'error' });
    expect(turns[0]!.audit.filter((e) => e.kind === 'tool-call')).toMatchObject([{ tool: 'refund', status: 'not-run' }]);
    expect(turns[0]!.messages.at(-1)).toMatchObject({ role: 'tool', content: expect.stringContaining('was not run') });
  });

  it('recovering a state whose call started but never recorded a result asks the tool, and does not run it again', async () => {
    const dir = tmp();
    const { effects, sessions, paused } = await pausedRefund(dir);
    let started: RunState | undefined;
    // Simulate the crash: take the "started" checkpoint, write the effect as the tool would, stop.
    const crashing = new Agent({ model: new ScriptedModel({ steps: [say('x')] }), tools: [refundTool(effects)], sessions });
    await crashing
      .resume(paused, {
        approve: true,
        checkpoint: (state) => {
          if (started) throw new Error('crash');
          started = state;
        },
      })
      .catch(() => {});
    expect(refundLines(effects)).toHaveLength(1);
    // The crashed process never stored its turn; in a real crash nothing ran after the effect.
    const fresh = new FileSessionStore(path.join(dir, 'fresh'));
    const model = new ScriptedModel({ steps: [say('Your refund of 80 is done.')] });
    const agent = new Agent({ model, tools: [refundTool(effects)], sessions: fresh });
    const result = await agent.recover(wire(started));
    expect(result.status).toBe('completed');
    expect(refundLines(effects)).toHaveLength(1);
    expect(JSON.stringify(model.requests[0]!.messages)).toContain('refunded');
    const audit = (await fresh.load('cust-1')).turns[0]!.audit.filter((e) => e.kind === 'tool-call');
    expect(audit).toMatchObject([{ tool: 'refund', status: 'ok' }]);
  });

  it('without recover, a started call answers tool-outcome-unknown and is never run again', async () => {
    const dir = tmp();
    const effects = path.join(dir, 'effects.jsonl');
    const { paused } = await pausedRefund(dir);
    const state = wire(paused);
    state.pending[0]!.approval = 'approved';
    state.pending[0]!.execution = { idempotencyKey: `${state.runId}:call_1`, startedAt: new Date().toISOString() };
    const model = new ScriptedModel({ steps: [say('I am checking on that refund.')] });
    const agent = new Agent({ model, tools: [refundTool(effects, { withRecover: false })], sessions: new FileSessionStore(path.join(dir, 'other')) });
    const result = await agent.recover(state);
    expect(result.status).toBe('completed');
    expect(refundLines(effects)).toHaveLength(0);
    expect(result.audit.filter((e) => e.kind === 'tool-call')).toMatchObject([{ status: 'error', code: 'tool-outcome-unknown' }]);
  });

  it('when recover proves the effect absent, the call runs once with the same idempotency key', async () => {
    const dir = tmp();
    const { paused, effects } = await pausedRefund(dir);
    const state = wire(paused);
    state.pending[0]!.approval = 'approved';
    state.pending[0]!.execution = { idempotencyKey: `${state.runId}:call_1`, startedAt: new Date().toISOString() };
    const agent = new Agent({ model: new ScriptedModel({ steps: [say('Done.')] }), tools: [refundTool(effects)], sessions: new FileSessionStore(path.join(dir, 'other')) });
    await agent.recover(state);
    expect(refundLines(effects)).toEqual([{ key: `${state.runId}:call_1`, orderId: 'A1', amount: 80 }]);
  });

  it('a run that was recovered and stored cannot be recovered a second time', async () => {
    const dir = tmp();
    const { paused, effects, sessions } = await pausedRefund(dir);
    const state = wire(paused);
    state.pending[0]!.approval = 'approved';
    const agent = new Agent({ model: new ScriptedModel({ steps: [say('Done.'), say('Done.')] }), tools: [refundTool(effects)], sessions });
    await agent.recover(state);
    await expect(agent.recover(state)).rejects.toMatchObject({ code: 'agent-invalid-state' });
    expect(refundLines(effects)).toHaveLength(1);
  });

  it('kill -9 while the approved tool runs: recovery from the last checkpoint pays once and stores the turn', async () => {
    const dir = tmp();
    const { paused, effects, sessions } = await pausedRefund(dir);
    writeFileSync(path.join(dir, 'paused.json'), JSON.stringify(paused));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/crash-during-tool.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('effect-written')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(refundLines(effects)).toHaveLength(1);
    expect(readFileSync(path.join(dir, 'checkpoints.log'), 'utf8')).toBe('started\n');
    // The crashed run stored nothing.
    expect((await sessions.load('cust-1')).turns).toHaveLength(0);

    const checkpoint = JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as RunState;
    const model = new ScriptedModel({ steps: [say('Your refund of 80 is on its way.')] });
    const agent = new Agent({ model, tools: [refundTool(effects)], sessions });
    const result = await agent.recover(checkpoint);
    expect(result.text).toBe('Your refund of 80 is on its way.');
    expect(refundLines(effects)).toHaveLength(1);
    const { turns } = await sessions.load('cust-1');
    expect(turns).toHaveLength(1);
    expect(turns[0]!.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  }, 60_000);
});
