// The bot tried as an attacker would, over real HTTP against the real server: staff pages and
// APIs without a staff sign-in, a customer approving their own refund, responses that would hand
// out someone's session, cross-site posts, a foreign Host (DNS rebinding), malformed cookies,
// replayed and expired sessions, and the security headers of every response.
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { PatternGuard } from '@lookout/guards';
import { afterEach, describe, expect, it } from 'vitest';
import { createShopApp } from '../src/app.js';
import { ShopClient, STAFF, StaffClient, replyText, sqliteOf, startShop, tempDataDir } from './helpers.js';

/** A raw HTTP request, so the Host and Origin headers are exactly what an attacker sends. */
function raw(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}) {
  const base = new URL(url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const refundModel = () =>
  new ScriptedModel({
    steps: [[callTool('open_refund_request', { orderId: 'A-2001', amount: 82, reason: 'the pan arrived cracked' })], say('Your refund went through.')],
  });

describe('staff are authenticated and separate from customers', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('anonymous callers and signed-in customers get 401 on every staff API; staff pages send them to the staff sign-in', async () => {
    const shop = await startShop({ model: refundModel() });
    dirs.push(shop.dataDir);
    const grace = await ShopClient.signIn(shop.url, 'cus_grace');
    for (const path of ['/api/approvals', '/api/verdicts']) {
      expect((await fetch(new URL(path, shop.url))).status).toBe(401);
      const asCustomer = await fetch(new URL(path, shop.url), { headers: { cookie: grace.cookie } });
      expect(asCustomer.status).toBe(401);
      expect(((await asCustomer.json()) as any).error.code).toBe('staff-sign-in-required');
    }
    for (const path of ['/staff', '/moderation']) {
      for (const headers of [{}, { cookie: grace.cookie }] as Array<Record<string, string>>) {
        const res = await fetch(new URL(path, shop.url), { headers, redirect: 'manual' });
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe(`/staff/signin?next=${path}`);
      }
    }
    const form = await (await fetch(new URL('/staff/signin', shop.url))).text();
    expect(form).toContain('Staff sign-in');
    expect(form).toContain('type="password"');
    await shop.close();
  });

  it('a signed-in customer cannot approve their own refund, whatever cookie they present', async () => {
    const shop = await startShop({ model: refundModel() });
    dirs.push(shop.dataDir);
    const grace = await ShopClient.signIn(shop.url, 'cus_grace');
    expect((await grace.send('Refund A-2001 please')).events.at(-1)?.event).toBe('approval');
    const [pending] = await shop.db.approvals();
    const token = grace.cookie.split('=')[1]!;
    for (const cookie of [grace.cookie, `lookout_staff=${token}`, '']) {
      const res = await fetch(new URL(`/api/approvals/${pending!.id}`, shop.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(shop.url).origin, ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ decision: 'approve' }),
      });
      expect(res.status).toBe(401);
    }
    expect((await shop.db.approval(pending!.id))?.status).toBe('pending');
    expect(await shop.db.refundRequestsOf('cus_grace')).toEqual([]);
    // Staff can.
    const staff = await StaffClient.signIn(shop.url);
    expect((await staff.decide(pending!.id, 'approve')).status).toBe(200);
    expect(await shop.db.refundRequestsOf('cus_grace')).toMatchObject([{ amount: 82, status: 'approved' }]);
    await shop.close();
  });

  it('staff sign-in: a wrong password is refused, the right one sets a Strict HttpOnly staff cookie, sign-out ends the session', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [] }) });
    dirs.push(shop.dataDir);
    const origin = new URL(shop.url).origin;
    const attempt = (username: string, password: string) =>
      fetch(new URL('/staff/signin', shop.url), { method: 'POST', headers: { origin }, body: new URLSearchParams({ username, password, next: '/moderation' }), redirect: 'manual' });
    const wrong = await attempt(STAFF.user, 'not the password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('do not match');
    expect((await attempt('admin', STAFF.password)).status).toBe(401);

    const ok = await attempt(STAFF.user, STAFF.password);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/moderation');
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^lookout_staff=[A-Za-z0-9_-]{40,};/);
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/']) expect(setCookie).toContain(attribute);
    const cookie = setCookie.split(';')[0]!;
    expect((await fetch(new URL('/api/approvals', shop.url), { headers: { cookie } })).status).toBe(200);
    // The staff cookie is no customer session.
    expect((await fetch(new URL('/api/history', shop.url), { headers: { cookie } })).status).toBe(401);

    const out = await fetch(new URL('/staff/signout', shop.url), { method: 'POST', headers: { origin, cookie }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    // Replaying the old cookie after sign-out: the server-side session is gone.
    expect((await fetch(new URL('/api/approvals', shop.url), { headers: { cookie } })).status).toBe(401);
    await shop.close();
  });

  it('without configured credentials a random staff password is generated once and stored only as a scrypt hash', async () => {
    const dataDir = await tempDataDir();
    dirs.push(dataDir);
    const model = new ScriptedModel({ steps: [] });
    const first = await createShopApp({ model, dataDir });
    const password = first.staff.generatedPassword!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const stored = sqliteOf(first.db).prepare('SELECT username, password_hash AS hash FROM staff_accounts').all() as Array<{ username: string; hash: string }>;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.username).toBe('staff');
    expect(stored[0]!.hash).toMatch(/^scrypt\$/);
    expect(stored[0]!.hash).not.toContain(password);
    await first.close();

    const second = await createShopApp({ model, dataDir });
    expect(second.staff.generatedPassword).toBeUndefined();
    const url = await second.server.listen(0);
    await expect(StaffClient.signIn(url, 'staff', 'correct horse battery staple')).rejects.toThrow(/401/);
    expect((await (await StaffClient.signIn(url, 'staff', password)).get('/api/approvals')).status).toBe(200);
    await second.close();
  });

  it('refuses staff sign-in from an address after repeated failures', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [] }) });
    dirs.push(shop.dataDir);
    const origin = new URL(shop.url).origin;
    const attempt = (password: string) =>
      fetch(new URL('/staff/signin', shop.url), { method: 'POST', headers: { origin }, body: new URLSearchParams({ username: STAFF.user, password }), redirect: 'manual' });
    for (let i = 0; i < 10; i++) expect((await attempt(`guess ${i}`)).status).toBe(401);
    const blocked = await attempt(STAFF.password);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    await shop.close();
  });
});

describe('no response hands out a bearer secret', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('approvals, hand-overs, verdicts, history and pages name conversations by an opaque id, never by a session cookie', async () => {
    const model = new ScriptedModel({
      steps: [
        [callTool('hand_over_to_human', { summary: 'wants to talk to a person' })],
        say('A colleague will write to you.'),
        [callTool('open_refund_request', { orderId: 'A-2001', amount: 82, reason: 'the pan arrived cracked' })],
        say('Your refund went through.'),
      ],
    });
    const shop = await startShop({ model });
    dirs.push(shop.dataDir);
    const grace = await ShopClient.signIn(shop.url, 'cus_grace');
    const bodies: string[] = [];
    bodies.push(JSON.stringify((await grace.send('I want a human')).events));
    bodies.push(JSON.stringify((await grace.send('Refund A-2001 please')).events));
    const staff = await StaffClient.signIn(shop.url);
    const approvals = await staff.approvals();
    const verdicts = await staff.verdicts();
    bodies.push(JSON.stringify(approvals), JSON.stringify(verdicts), JSON.stringify(await grace.history()));
    bodies.push(await (await staff.decide(approvals.approvals[0].id, 'approve')).text());
    for (const path of ['/staff', '/moderation', '/api/approvals', '/api/verdicts']) bodies.push(await (await staff.get(path)).text());
    bodies.push(await (await fetch(shop.url, { headers: { cookie: grace.cookie } })).text());

    const [conversation] = await shop.db.conversations();
    expect(approvals.approvals[0]).toMatchObject({ conversationId: conversation!.id, customer: 'Grace Hopper' });
    expect(approvals.approvals[0]).not.toHaveProperty('sessionId');
    expect(approvals.handovers[0]).toMatchObject({ conversationId: conversation!.id, summary: 'wants to talk to a person' });
    expect(approvals.handovers[0]).not.toHaveProperty('sessionId');
    expect(verdicts.verdicts.length).toBeGreaterThan(0);
    for (const v of verdicts.verdicts) {
      expect(v.conversationId).toBe(conversation!.id);
      expect(v).not.toHaveProperty('sessionId');
    }
    const secrets = [grace.cookie.split('=')[1]!, staff.cookie.split('=')[1]!];
    for (const body of bodies) for (const secret of secrets) expect(body).not.toContain(secret);
    // The conversation id grants nothing: presented as a cookie it signs nobody in.
    expect((await fetch(new URL('/api/history', shop.url), { headers: { cookie: `lookout_sid=${conversation!.id}` } })).status).toBe(401);
    expect((await fetch(new URL('/api/approvals', shop.url), { headers: { cookie: `lookout_staff=${conversation!.id}` } })).status).toBe(401);
    // The database keeps only hashes of the cookies.
    const dump = JSON.stringify(sqliteOf(shop.db).prepare('SELECT * FROM browser_sessions').all()) + JSON.stringify(sqliteOf(shop.db).prepare('SELECT * FROM staff_sessions').all());
    for (const secret of secrets) expect(dump).not.toContain(secret);
    await shop.close();
  });
});

describe('web hygiene', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('refuses every state-changing request with a foreign, null or missing Origin (403)', async () => {
    const model = refundModel();
    const shop = await startShop({ model });
    dirs.push(shop.dataDir);
    const own = new URL(shop.url).origin;
    const grace = await ShopClient.signIn(shop.url, 'cus_grace');
    const staff = await StaffClient.signIn(shop.url);
    const foreign: Array<Record<string, string>> = [{}, { origin: 'https://evil.example' }, { origin: 'null' }, { origin: 'http://127.0.0.1.evil.example' }, { referer: 'https://evil.example/page' }];
    const posts: Array<{ path: string; cookie?: string; type?: string; body: string }> = [
      { path: '/signin', body: 'customer=cus_ada' },
      { path: '/signout', cookie: grace.cookie, body: '' },
      { path: '/api/chat', cookie: grace.cookie, type: 'application/json', body: JSON.stringify({ text: 'Refund A-2001 please' }) },
      { path: '/staff/signin', body: new URLSearchParams({ username: STAFF.user, password: STAFF.password }).toString() },
      { path: '/staff/signout', cookie: staff.cookie, body: '' },
      { path: '/api/approvals/00000000-0000-0000-0000-000000000000', cookie: staff.cookie, type: 'application/json', body: '{"decision":"approve"}' },
    ];
    for (const post of posts) {
      for (const headers of foreign) {
        const res = await raw(shop.url, {
          method: 'POST',
          path: post.path,
          headers: { ...headers, ...(post.cookie ? { cookie: post.cookie } : {}), ...(post.type ? { 'content-type': post.type } : {}) },
          body: post.body,
        });
        expect([post.path, headers, res.status]).toEqual([post.path, headers, 403]);
        expect(JSON.parse(res.body).error.code).toBe('cross-origin-request');
        expect(res.headers['set-cookie']).toBeUndefined();
      }
    }
    // Nothing happened: no model call, both sessions still signed in.
    expect(model.requests).toHaveLength(0);
    expect((await grace.history()).customer.id).toBe('cus_grace');
    expect((await staff.get('/api/approvals')).status).toBe(200);
    // The bot's own pages: Origin, or a Referer from the page when a browser sends no Origin.
    expect((await raw(shop.url, { method: 'POST', path: '/signin', headers: { origin: own }, body: 'customer=cus_ada' })).status).toBe(303);
    expect((await raw(shop.url, { method: 'POST', path: '/signin', headers: { referer: `${own}/` }, body: 'customer=cus_ada' })).status).toBe(303);
    await shop.close();
  });

  it('answers only the allowed Host names (DNS rebinding gets 403)', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [] }) });
    dirs.push(shop.dataDir);
    const port = new URL(shop.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`, `127.0.0.1:${Number(port) + 1}`, '[::1]:1']) {
      const res = await raw(shop.url, { path: '/healthz', headers: { host } });
      expect([host, res.status]).toEqual([host, 403]);
      expect(JSON.parse(res.body).error.code).toBe('host-not-allowed');
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) expect((await raw(shop.url, { path: '/healthz', headers: { host } })).status).toBe(200);
    await shop.close();

    // Behind a reverse proxy: the configured names only.
    const proxied = await startShop({ model: new ScriptedModel({ steps: [] }), allowedHosts: ['shop.example.com'] });
    dirs.push(proxied.dataDir);
    expect((await raw(proxied.url, { path: '/healthz', headers: { host: 'shop.example.com' } })).status).toBe(200);
    expect((await raw(proxied.url, { path: '/healthz', headers: { host: proxied.url.slice(7, -1) } })).status).toBe(403);
    const post = await raw(proxied.url, { method: 'POST', path: '/signin', headers: { host: 'shop.example.com', origin: 'https://shop.example.com' }, body: 'customer=cus_ada' });
    expect(post.status).toBe(303);
    await proxied.close();
  });

  it('ignores malformed cookies instead of failing every route', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [say('Hello Ada.')] }) });
    dirs.push(shop.dataDir);
    const ada = await ShopClient.signIn(shop.url, 'cus_ada');
    for (const junk of ['lookout_sid=%', 'a=%E0%A4%A; lookout_staff=%zz', '=x; ;;lookout_sid', 'lookout_sid="%"']) {
      const page = await fetch(shop.url, { headers: { cookie: junk } });
      expect([junk, page.status]).toEqual([junk, 200]);
      expect(await page.text()).toContain('Demo sign-in');
      expect((await fetch(new URL('/api/history', shop.url), { headers: { cookie: junk } })).status).toBe(401);
      expect((await fetch(new URL('/api/approvals', shop.url), { headers: { cookie: junk } })).status).toBe(401);
      expect((await fetch(new URL('/api/history', shop.url), { headers: { cookie: `${junk}; ${ada.cookie}` } })).status).toBe(200);
    }
    expect(replyText((await ada.send('hi')).events)).toBe('Hello Ada.');
    await shop.close();
  });

  it('sign-out deletes the server-side session: the old cookie replayed afterwards is 401', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [] }) });
    dirs.push(shop.dataDir);
    const ada = await ShopClient.signIn(shop.url, 'cus_ada');
    expect((await fetch(new URL('/api/history', shop.url), { headers: { cookie: ada.cookie } })).status).toBe(200);
    const out = await fetch(new URL('/signout', shop.url), { method: 'POST', headers: { cookie: ada.cookie, origin: new URL(shop.url).origin }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect((await fetch(new URL('/api/history', shop.url), { headers: { cookie: ada.cookie } })).status).toBe(401);
    expect((await ada.send('still there?')).status).toBe(401);
    expect(await shop.db.browserSessionCount()).toBe(0);
    await shop.close();
  });

  it('expires idle sessions and caps live sessions server-side, signing out the least recently used', async () => {
    const shop = await startShop({ model: new ScriptedModel({ steps: [] }), sessionLimits: { maxSessions: 5, maxSessionsPerCustomer: 3, idleMs: 30 * 24 * 60 * 60 * 1000 } });
    dirs.push(shop.dataDir);
    const status = async (c: ShopClient) => (await fetch(new URL('/api/history', shop.url), { headers: { cookie: c.cookie } })).status;
    const ada = [];
    for (let i = 0; i < 4; i++) ada.push(await ShopClient.signIn(shop.url, 'cus_ada'));
    expect(await Promise.all(ada.map(status))).toEqual([401, 200, 200, 200]);
    const grace = [await ShopClient.signIn(shop.url, 'cus_grace'), await ShopClient.signIn(shop.url, 'cus_grace')];
    expect(await shop.db.browserSessionCount()).toBe(5);
    await ShopClient.signIn(shop.url, 'cus_alan');
    expect(await shop.db.browserSessionCount()).toBe(5);
    expect(await Promise.all([...ada, ...grace].map(status))).toEqual([401, 401, 200, 200, 200, 200]);

    // 31 days without use: signed out, whatever the cookie's own Max-Age says.
    sqliteOf(shop.db).prepare('UPDATE browser_sessions SET last_seen_at = ?').run(new Date(Date.now() - 31 * 24 * 60 * 60 * 1000).toISOString());
    expect(await status(grace[1]!)).toBe(401);
    expect(await shop.db.browserSessionCount()).toBe(4);
    await shop.close();
  });

  it('sends the security headers on every response, and the pages carry no inline script or style', async () => {
    const model = new ScriptedModel({ steps: [say('Hello.')] });
    const shop = await startShop({ model, guards: { input: [new PatternGuard({ blocklist: ['scam'], category: 'abuse' })] } });
    dirs.push(shop.dataDir);
    const ada = await ShopClient.signIn(shop.url, 'cus_ada');
    const staff = await StaffClient.signIn(shop.url);
    const responses = [
      await fetch(shop.url),
      await fetch(shop.url, { headers: { cookie: ada.cookie } }),
      await staff.get('/staff'),
      await staff.get('/moderation'),
      await fetch(new URL('/staff/signin', shop.url)),
      await fetch(new URL('/api/history', shop.url)),
      await fetch(new URL('/nowhere', shop.url)),
      await fetch(new URL('/assets/chat.js', shop.url)),
      await fetch(new URL('/signin', shop.url), { method: 'POST', redirect: 'manual' }),
      await fetch(new URL('/api/chat', shop.url), { method: 'POST', headers: { cookie: ada.cookie, origin: new URL(shop.url).origin, 'content-type': 'application/json' }, body: '{"text":"hi"}' }),
    ];
    for (const res of responses) {
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toMatch(/^(no-referrer|same-origin)$/);
      const body = await res.text();
      if ((res.headers.get('content-type') ?? '').startsWith('text/html')) {
        expect(body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
        expect(body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      }
    }
    expect(responses.at(-1)!.headers.get('content-type')).toContain('text/event-stream');
    expect(responses[7]!.headers.get('content-type')).toContain('javascript');
    await shop.close();
  });
});
