// The moderation view at scale: with thousands of conversations, a page of verdicts comes from
// the SQLite index (written when a turn ends), never from reading every transcript.
import { rm } from 'node:fs/promises';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { PatternGuard } from '@lookout/guards';
import { afterEach, expect, it, vi } from 'vitest';
import { newConversationId } from '../src/store/types.js';
import { ShopClient, StaffClient, sqliteOf, startShop } from './helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

it('pages through the verdicts of thousands of conversations from the index, without loading a transcript', async () => {
  const model = new ScriptedModel({ steps: [say('Hello Ada.')] });
  const shop = await startShop({ model, guards: { input: [new PatternGuard({ blocklist: ['scam'], category: 'abuse', name: 'shop-blocklist' })] } });
  dirs.push(shop.dataDir);
  const ada = await ShopClient.signIn(shop.url, 'cus_ada');
  await ada.send('hello');
  await ada.send('this is a scam');
  const live = (await shop.db.verdictPage(1000)).length;
  expect(live).toBeGreaterThan(3);

  // 3000 earlier conversations with two verdicts each, as turn ends would have indexed them.
  const seeded = 3000;
  const base = Date.parse('2024-01-01T00:00:00Z');
  // In one SQLite transaction: the SQLite store does its work synchronously, so indexVerdicts is done when it returns.
  const sqlite = sqliteOf(shop.db);
  sqlite.transaction(() => {
    const insert = sqlite.prepare('INSERT INTO conversations (id, session_key, customer_id, created_at) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < seeded; i++) {
      const id = newConversationId();
      const time = (k: number) => new Date(base + i * 1000 + k).toISOString();
      insert.run(id, id, i % 2 ? 'cus_grace' : 'cus_alan', time(0));
      void shop.db.indexVerdicts(id, i % 2 ? 'cus_grace' : 'cus_alan', [
        { kind: 'verdict', time: time(1), runId: `r${i}`, stage: 'input', guard: 'message-limits', safe: true, categories: [], latencyMs: 0.1, action: 'block' },
        { kind: 'verdict', time: time(2), runId: `r${i}`, stage: 'output', guard: 'profanity', safe: i % 100 !== 0, categories: i % 100 ? [] : ['profanity'], latencyMs: 0.2, action: 'block' },
      ]);
    }
  })();

  const auditLog = vi.spyOn(shop.agent, 'auditLog');
  const load = vi.spyOn(shop.agent.sessions, 'load');
  const staff = await StaffClient.signIn(shop.url);
  const seen: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: any = await staff.verdicts(`?limit=500${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.verdicts.length).toBeLessThanOrEqual(500);
    seen.push(...page.verdicts);
    cursor = page.next;
    pages++;
  } while (cursor);
  expect(pages).toBeGreaterThanOrEqual(Math.ceil((seeded * 2 + live) / 500));
  expect(seen).toHaveLength(seeded * 2 + live);
  // Newest first, every verdict once.
  const times = seen.map((v) => v.time);
  expect([...times].sort().reverse()).toEqual(times);
  expect(new Set(seen.map((v) => `${v.conversationId}/${v.runId}/${v.guard}/${v.time}`)).size).toBe(seen.length);
  expect(seen[0]).toMatchObject({ customer: 'Ada Lovelace' });
  expect(seen.find((v) => v.guard === 'shop-blocklist' && !v.safe)).toMatchObject({ stage: 'input', categories: ['abuse'], customer: 'Ada Lovelace' });
  expect(seen.filter((v) => v.guard === 'profanity' && !v.safe)).toHaveLength(seeded / 100);
  // Answered from the index: no transcript or audit log was read.
  expect(auditLog).not.toHaveBeenCalled();
  expect(load).not.toHaveBeenCalled();

  const first = await staff.verdicts('?limit=3');
  expect(first.verdicts).toHaveLength(3);
  expect(first.verdicts.map((v: any) => v.time)).toEqual(seen.slice(0, 3).map((v) => v.time));
  for (const query of ['?limit=0', '?limit=501', '?limit=x', '?before=not-a-cursor']) {
    const res = await staff.get(`/api/verdicts${query}`);
    expect([query, res.status]).toEqual([query, 400]);
  }
  await shop.close();
});

it('indexes the verdicts of a run resumed by staff, once each', async () => {
  const model = new ScriptedModel({
    steps: [[callTool('open_refund_request', { orderId: 'A-2001', amount: 82, reason: 'the pan arrived cracked' })], say('Your refund of 82 EUR is on its way.')],
  });
  const shop = await startShop({ model });
  dirs.push(shop.dataDir);
  const grace = await ShopClient.signIn(shop.url, 'cus_grace');
  await grace.send('Refund A-2001 please');
  const before = (await shop.db.verdictPage(1000)).length;
  const staff = await StaffClient.signIn(shop.url);
  const { approvals } = await staff.approvals();
  expect((await staff.decide(approvals[0].id, 'approve')).status).toBe(200);
  const { verdicts } = await staff.verdicts();
  const [conversation] = await shop.db.conversations();
  const audit = (await shop.agent.auditLog(conversation!.sessionKey)).filter((e) => e.kind === 'verdict');
  // Every verdict of the stored turn is listed exactly once, the resumed reply's output check included.
  expect(verdicts).toHaveLength(audit.length);
  expect(verdicts.length).toBeGreaterThan(before);
  expect(verdicts.some((v: any) => v.stage === 'output')).toBe(true);
  await shop.close();
});
