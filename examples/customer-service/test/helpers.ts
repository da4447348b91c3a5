// Shared set-up for the example's tests: an app on a temporary data directory, an HTTP client
// that signs in like the browser does (cookie, Origin header) and reads the streamed reply, and
// a signed-in member of staff.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createShopApp, type ShopAppOptions } from '../src/app.js';
import { SqliteShopStore } from '../src/store/sqlite.js';
import type { ShopStore } from '../src/store/types.js';

export async function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lookout-shop-'));
}

/** The staff account the tests configure (as --staff-user / --staff-password would). */
export const STAFF = { user: 'staff', password: 'correct horse battery staple' };

export async function startShop(options: Omit<ShopAppOptions, 'dataDir'> & { dataDir?: string }) {
  const dataDir = options.dataDir ?? (await tempDataDir());
  const app = await createShopApp({ staff: STAFF, ...options, dataDir });
  const url = await app.server.listen(0);
  return { ...app, url, dataDir };
}

/** The SQLite database under a store, for tests that reach into its tables. */
export function sqliteOf(db: ShopStore): SqliteShopStore['db'] {
  if (!(db instanceof SqliteShopStore)) throw new Error('this test needs the SQLite store');
  return db.db;
}

export interface SseEvent {
  event: string;
  data: any;
}

/** A signed-in browser session, as the chat page would use it. */
export class ShopClient {
  constructor(
    readonly base: string,
    readonly cookie: string,
  ) {}

  static async signIn(base: string, customerId: string): Promise<ShopClient> {
    const res = await fetch(new URL('/signin', base), {
      method: 'POST',
      headers: { origin: new URL(base).origin },
      body: new URLSearchParams({ customer: customerId }),
      redirect: 'manual',
    });
    if (res.status !== 303) throw new Error(`sign-in failed with ${res.status}`);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    return new ShopClient(base, cookie);
  }

  async send(text: string, images: string[] = []): Promise<{ status: number; events: SseEvent[]; error?: any }> {
    const res = await fetch(new URL('/api/chat', this.base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: this.cookie, origin: new URL(this.base).origin },
      body: JSON.stringify({ text, images }),
    });
    if (!res.ok) return { status: res.status, events: [], error: ((await res.json()) as any).error };
    const body = await res.text();
    const events = body
      .split('\n\n')
      .filter((b) => b.trim())
      .map((block) => ({ event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) }));
    return { status: res.status, events };
  }

  async history(): Promise<any> {
    return (await fetch(new URL('/api/history', this.base), { headers: { cookie: this.cookie } })).json();
  }
}

/** A signed-in member of staff, as the staff page would use the API. */
export class StaffClient {
  private constructor(
    readonly base: string,
    readonly cookie: string,
  ) {}

  static async signIn(base: string, user = STAFF.user, password = STAFF.password): Promise<StaffClient> {
    const res = await fetch(new URL('/staff/signin', base), {
      method: 'POST',
      headers: { origin: new URL(base).origin },
      body: new URLSearchParams({ username: user, password }),
      redirect: 'manual',
    });
    if (res.status !== 303) throw new Error(`staff sign-in failed with ${res.status}`);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    return new StaffClient(base, cookie);
  }

  get(path: string): Promise<Response> {
    return fetch(new URL(path, this.base), { headers: { cookie: this.cookie }, redirect: 'manual' });
  }

  async approvals(): Promise<any> {
    return (await this.get('/api/approvals')).json();
  }

  async verdicts(query = ''): Promise<any> {
    return (await this.get(`/api/verdicts${query}`)).json();
  }

  decide(id: string, decision: string, note?: string): Promise<Response> {
    return fetch(new URL(`/api/approvals/${id}`, this.base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: this.cookie, origin: new URL(this.base).origin },
      body: JSON.stringify({ decision, note }),
    });
  }
}

export const replyText = (events: SseEvent[]) => events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
