import { defineTool, z } from '@lookout/tools';
import { describe, expect, it } from 'vitest';
import { Agent } from '../agent/agent.js';
import { SessionConflictError } from '../errors.js';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { MemorySessionStore } from './memory.js';
import type { TurnRecord } from './types.js';

const foreignTurn = (id: string): TurnRecord => ({
  turnId: id,
  runId: id,
  startedAt: new Date().toISOString(),
  endedAt: new Date().toISOString(),
  status: 'completed',
  messages: [{ role: 'user', content: `from another replica (${id})` }],
  audit: [],
});

describe('the agent keeps one writer per session', () => {
  it('of two turns run at once on one session, one is stored and the other fails with SessionConflictError, storing nothing', async () => {
    const sessions = new MemorySessionStore();
    const model = new ScriptedModel({ steps: [say('one', { delayMs: 20 })], whenExhausted: 'repeat-last' });
    const agent = new Agent({ model, sessions });
    const results = await Promise.allSettled([agent.run('first', { sessionId: 's' }), agent.run('second', { sessionId: 's' })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(SessionConflictError);
    expect(lost[0]!.reason).toMatchObject({ code: 'session-conflict', expectedVersion: 0, actualVersion: 1 });
    const snap = await sessions.load('s');
    expect(snap.turns).toHaveLength(1);
    expect(snap.turns[0]!.status).toBe('completed');

    // The caller retries on the newer conversation and the turn lands after the winner's.
    const retried = await agent.run('second', { sessionId: 's' });
    expect(retried.status).toBe('completed');
    expect((await sessions.load('s')).version).toBe(2);
  });

  it('a resumed run is appended against the version at resume time, so turns stored while it waited do not conflict', async () => {
    const sessions = new MemorySessionStore();
    const tool = defineTool({ name: 'refund', description: 'Refund', input: z.object({ id: z.string() }), needsApproval: true, execute: () => ({ ok: true }) });
    const model = new ScriptedModel({ steps: [[callTool('refund', { id: 'A1' }, 'c1')], say('Refunded.'), say('Still here.')] });
    const agent = new Agent({ model, sessions, tools: [tool] });
    const paused = await agent.run('refund A1', { sessionId: 's' });
    expect(paused.status).toBe('awaiting-approval');
    await sessions.appendTurn('s', foreignTurn('while-waiting'), { expectedVersion: 0 });
    const done = await agent.resume(JSON.parse(JSON.stringify(paused.state)), { approve: true });
    expect(done.status).toBe('completed');
    const snap = await sessions.load('s');
    expect(snap.turns.map((t) => t.turnId)).toEqual(['while-waiting', paused.turnId]);
  });

  it('a turn whose tool ran and then lost the session is still stored, after the winner, as an error with code session-conflict', async () => {
    const sessions = new MemorySessionStore();
    const effects: string[] = [];
    const tool = defineTool({
      name: 'refund',
      description: 'Refund',
      input: z.object({ id: z.string() }),
      execute: async ({ id }) => {
        effects.push(id);
        // Another replica stores a turn of the same session while this one runs.
        await sessions.appendTurn('s', foreignTurn('other'), { expectedVersion: 0 });
        return { ok: true };
      },
    });
    const model = new ScriptedModel({ steps: [[callTool('refund', { id: 'A1' }, 'c1')], say('Refunded.')] });
    const agent = new Agent({ model, sessions, tools: [tool] });
    await expect(agent.run('refund A1', { sessionId: 's' })).rejects.toBeInstanceOf(SessionConflictError);
    expect(effects).toEqual(['A1']);
    const snap = await sessions.load('s');
    expect(snap.turns.map((t) => t.turnId)[0]).toBe('other');
    expect(snap.turns).toHaveLength(2);
    expect(snap.turns[1]).toMatchObject({ status: 'error', error: { code: 'session-conflict' } });
    expect(snap.turns[1]!.audit.filter((e) => e.kind === 'tool-call')).toMatchObject([{ tool: 'refund', status: 'ok' }]);
  });
});
