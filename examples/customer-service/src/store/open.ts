// Which stores the bot runs on: the data directory (shop.sqlite, one JSONL transcript per
// conversation) by default, or one PostgreSQL database for everything, shared by replicas.
import path from 'node:path';
import { FileSessionStore, type SessionStore } from '@lookout/core';
import { PostgresSessionStore } from '@lookout/core/postgres';
import { PostgresShopStore } from './postgres.js';
import { SqliteShopStore } from './sqlite.js';
import type { ShopStore } from './types.js';

export interface OpenedStores {
  db: ShopStore;
  sessions: SessionStore;
  close(): Promise<void>;
}

export async function openStores(options: { dataDir: string; databaseUrl?: string; runLeaseMs?: number }): Promise<OpenedStores> {
  if (!options.databaseUrl) {
    const db = new SqliteShopStore(path.join(options.dataDir, 'shop.sqlite'));
    return { db, sessions: new FileSessionStore(path.join(options.dataDir, 'sessions')), close: () => db.close() };
  }
  // One pool for both: the session store owns it (ends it on close), the shop store borrows it.
  const sessions = new PostgresSessionStore(options.databaseUrl);
  const db = new PostgresShopStore(sessions.pool, { leaseMs: options.runLeaseMs });
  try {
    await db.ready();
  } catch (error) {
    await sessions.close();
    throw error;
  }
  return { db, sessions, close: () => sessions.close() };
}
