// Assembles the bot: database, session store, guards, agent and web server. main.ts and the
// tests build it the same way, with different models and guards.
import path from 'node:path';
import { FileSessionStore } from '@lookout/core';
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import { createShopAgent } from './agent.js';
import { ShopDb } from './db.js';
import { shopGuards, type ShopGuardOptions } from './guards.js';
import { ShopServer } from './server.js';
import { DEFAULT_POLICY, type RefundPolicy } from './tools.js';

export interface ShopAppOptions {
  model: LanguageModel;
  /** Holds shop.sqlite and sessions/ (one JSONL transcript per browser session). */
  dataDir: string;
  guards?: ShopGuardOptions;
  policy?: Partial<RefundPolicy>;
  sampling?: SamplingSettings;
  inputGuardMode?: 'parallel' | 'sequential';
  /**
   * Replies are held back and checked every this many characters before release. Default: 160
   * with a moderation model (each check is a model call), 24 with rule guards only (cheap).
   */
  outputChunkChars?: number;
  /** Checked reply text kept back until the next check passed. Default 48 (see createShopAgent). */
  outputHoldbackChars?: number;
  banner?: string[];
  warn?: boolean;
}

export interface ShopApp {
  server: ShopServer;
  db: ShopDb;
  agent: ReturnType<typeof createShopAgent>;
  close(): Promise<void>;
}

export function createShopApp(options: ShopAppOptions): ShopApp {
  const db = new ShopDb(path.join(options.dataDir, 'shop.sqlite'));
  const sessions = new FileSessionStore(path.join(options.dataDir, 'sessions'));
  const agent = createShopAgent({
    model: options.model,
    db,
    sessions,
    guards: shopGuards(options.guards ?? {}),
    policy: { ...DEFAULT_POLICY, ...options.policy },
    sampling: options.sampling,
    inputGuardMode: options.inputGuardMode,
    outputChunkChars: options.outputChunkChars ?? (options.guards?.moderation ? 160 : 24),
    outputHoldbackChars: options.outputHoldbackChars,
  });
  const server = new ShopServer({ agent, db, banner: options.banner, warn: options.warn });
  return {
    server,
    db,
    agent,
    close: async () => {
      await server.close();
      db.close();
    },
  };
}
