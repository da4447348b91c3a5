// Assembles the bot: database, session store, guards, agent and web server. main.ts and the
// tests build it the same way, with different models and guards.
import path from 'node:path';
import { FileSessionStore, type SessionStore } from '@lookout/core';
import { PostgresSessionStore } from '@lookout/core/postgres';
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import { createShopAgent } from './agent.js';
import { DEFAULT_SESSION_LIMITS, ShopDb } from './db.js';
import { shopGuards, type ShopGuardOptions } from './guards.js';
import type { RecoveryReport } from './runs.js';
import { ShopServer, type ShopServerOptions } from './server.js';
import { resolveStaffAccount, type StaffCredentials } from './staff-auth.js';
import { DEFAULT_POLICY, type RefundPolicy } from './tools.js';

/** The web server's own settings, handed through unchanged (see ShopServerOptions). */
type ServerSettings = Pick<
  ShopServerOptions,
  'banner' | 'warn' | 'allowedHosts' | 'secureCookies' | 'trustProxy' | 'sessionLimits' | 'staffSessionLimits' | 'photoLimits' | 'logError'
>;

export interface ShopAppOptions extends ServerSettings {
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
  /** Staff sign-in; without a password one is generated on first start, stored hashed (see ShopApp.staff). */
  staff?: StaffCredentials;
  /**
   * PostgreSQL connection string: conversations and their audit log go there (shared by
   * replicas) instead of JSONL transcripts under dataDir/sessions.
   */
  databaseUrl?: string;
}

export interface ShopApp {
  server: ShopServer;
  db: ShopDb;
  /** The staff user name, and the generated password on the start that created it (print it once). */
  staff: { username: string; generatedPassword?: string };
  agent: ReturnType<typeof createShopAgent>;
  /** Finishes the runs a stopped process left unfinished (call before listening). */
  recover(): Promise<RecoveryReport>;
  close(): Promise<void>;
}

export function createShopApp(options: ShopAppOptions): ShopApp {
  const db = new ShopDb(path.join(options.dataDir, 'shop.sqlite'));
  const postgres = options.databaseUrl ? new PostgresSessionStore(options.databaseUrl) : undefined;
  const sessions: SessionStore = postgres ?? new FileSessionStore(path.join(options.dataDir, 'sessions'));
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
  const staff = resolveStaffAccount(db, options.staff);
  const server = new ShopServer({
    agent,
    db,
    staff,
    banner: options.banner,
    warn: options.warn,
    allowedHosts: options.allowedHosts,
    secureCookies: options.secureCookies,
    trustProxy: options.trustProxy,
    sessionLimits: { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits },
    staffSessionLimits: options.staffSessionLimits,
    photoLimits: options.photoLimits,
    ...(options.logError ? { logError: options.logError } : {}),
  });
  // Conversations from before the verdict index: their verdicts are read from the audit log once.
  server.backfillVerdicts().catch((error) => console.error('customer-service: indexing earlier verdicts failed:', error));
  return {
    server,
    db,
    staff: { username: staff.username, generatedPassword: staff.generatedPassword },
    agent,
    recover: async () => {
      // With PostgreSQL, reach it (and create the schema) before anything is served.
      await postgres?.ready();
      return server.runs.recoverAll();
    },
    close: async () => {
      await server.close();
      db.close();
      await postgres?.close();
    },
  };
}
