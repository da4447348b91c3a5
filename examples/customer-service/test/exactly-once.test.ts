// A refund is paid at most once, whatever fails around it: the model after the tool, a second
// approval, or the whole process (kill -9) while the approved run was still going.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createShopApp } from '../src/app.js';
import { shopTools } from '../src/tools.js';
import { FAILED_TURN_APOLOGY } from '../src/transcript.js';
import { ShopClient, STAFF, StaffClient, startShop, tempDataDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REFUND = callTool('open_refund_request', { orderId: 'A-2001', amount: 82, reason: 'the pan arrived cracked' });

describe('exactly-once refunds', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('the model failing after an approved refund never re-opens the approval: one refund, and the customer sees it with an apology', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [[REFUND], [{ type: 'error', error: 'engine down' }], say('Anything else?')] }), logError: () => {} });
    dirs.push(shop.dataDir);
    const grace = await ShopClient.signIn(shop.url, 'cus_grace');
    expect((await grace.send('Refund A-2001 please, it is cracked')).events.at(-1)?.event).toBe('approval');
    const staff = await StaffClient.signIn(shop.url);
    const [approval] = (await staff.approvals()).approvals;

    const res = await staff.decide(approval.id, 'approve');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'failed' });
    expect(await shop.db.refundRequestsOf('cus_grace')).toHaveLength(1);

    // The decision stays final: not pending again, and a second approval is refused.
    const after = (await staff.approvals()).approvals;
    expect(after).toMatchObject([{ id: approval.id, status: 'approved', runStatus: 'failed' }]);
    expect((await staff.decide(approval.id, 'approve')).status).toBe(409);
    expect(await shop.db.refundRequestsOf('cus_grace')).toHaveLength(1);

    // The customer sees what happened and can write again.
    const history = await grace.history();
    expect(history.pendingApproval).toBeNull();
    expect(history.messages.map((m: { role: string }) => m.role)).toEqual(['customer', 'tool', 'notice']);
    expect(history.messages.at(-1).text).toBe(FAILED_TURN_APOLOGY);
    expect((await grace.send('Thanks. Anything else I should do?')).status).toBe(200);
    await shop.close();
  });

  it('the same refund call repeated (a retried or recovered call) finds the first refund instead of paying again', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [] }) });
    dirs.push(shop.dataDir);
    const refund = shopTools(shop.db).find((t) => t.name === 'open_refund_request')!;
    const ctx = { signal: new AbortController().signal, context: { customerId: 'cus_grace', sessionId: 's' }, toolCallId: 'c1', idempotencyKey: 'run-1:c1' };
    const first = await refund.execute({ orderId: 'A-2001', amount: 20, reason: 'cracked' }, ctx);
    const again = await refund.execute({ orderId: 'A-2001', amount: 20, reason: 'cracked' }, ctx);
    expect(again).toEqual(first);
    expect(await refund.recover!({ orderId: 'A-2001', amount: 20, reason: 'cracked' }, ctx)).toEqual({ output: first });
    expect(await refund.recover!({}, { ...ctx, idempotencyKey: 'run-1:c2' })).toBeNull();
    expect(await shop.db.refundRequestsOf('cus_grace')).toHaveLength(1);
    await shop.close();
  });

  it('kill -9 while an approved refund run is going: on restart refund, approval, transcript and audit agree, and nothing is paid twice', async () => {
    const dataDir = await tempDataDir();
    dirs.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/crash-shop.ts'), dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const line = /http:\/\/\S+/.exec(chunk.toString());
        if (line) resolve(line[0]);
      });
      child.on('exit', (code) => reject(new Error(`the bot exited early with ${code}`)));
    });
    const grace = await ShopClient.signIn(url, 'cus_grace');
    expect((await grace.send('Refund A-2001 please, it is cracked')).events.at(-1)?.event).toBe('approval');
    const staff = await StaffClient.signIn(url);
    const [approval] = (await staff.approvals()).approvals;
    // The decision's run pays the refund, then hangs in the model step after it.
    staff.decide(approval.id, 'approve').catch(() => {});
    const file = path.join(dataDir, 'shop.sqlite');
    const refunds = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare("SELECT count(*) AS n FROM refund_requests WHERE customer_id = 'cus_grace'").get() as { n: number };
      } finally {
        db.close();
      }
    };
    while (refunds().n === 0) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));

    // Restart with a healthy model: the interrupted run is finished from its checkpoint.
    const app = await createShopApp({ dataDir, staff: STAFF, model: new ScriptedModel({ steps: [say('Your refund of 82 EUR is on its way.')] }) });
    expect(await app.recover()).toEqual({ recovered: 1, alreadyStored: 0, failed: 0 });
    expect(await app.db.refundRequestsOf('cus_grace')).toHaveLength(1);
    const [decided] = await app.db.approvals();
    expect(decided).toMatchObject({ id: approval.id, status: 'approved', runStatus: 'done' });
    const turns = (await app.agent.sessions.load(decided!.sessionId)).turns;
    expect(turns).toHaveLength(1);
    expect(turns[0]!.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(turns[0]!.audit.filter((e) => e.kind === 'tool-call')).toMatchObject([{ tool: 'open_refund_request', status: 'ok' }]);

    // The customer (same cookie) sees the outcome.
    const restarted = await app.server.listen(0);
    const history = await new ShopClient(restarted, grace.cookie).history();
    expect(history.pendingApproval).toBeNull();
    expect(history.messages.at(-1)).toMatchObject({ role: 'bot', text: 'Your refund of 82 EUR is on its way.' });
    await app.close();

    // A further restart has nothing left to do.
    const again = await createShopApp({ dataDir, staff: STAFF, model: new ScriptedModel({ steps: [] }) });
    expect(await again.recover()).toEqual({ recovered: 0, alreadyStored: 0, failed: 0 });
    expect(await again.db.refundRequestsOf('cus_grace')).toHaveLength(1);
    await again.close();
  }, 60_000);
});
