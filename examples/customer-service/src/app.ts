// Assembles the bot: stores, guards, agent and web server. main.ts and the tests build it the
// same way, with different models and guards.
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import { createShopAgent } from './agent.js';
import { shopGuards, type ShopGuardOptions } from './guards.js';
import type { RecoveryReport } from './runs.js';
import { ShopServer, type ShopServerOptions } from './server.js';
import { resolveStaffAccount, type StaffCredentials } from './staff-auth.js';
import { openStores } from './store/open.js';
import { DEFAULT_SESSION_LIMITS, type ShopStore } from './store/types.js';
import { DEFAULT_POLICY, type RefundPolicy } from './tools.js';

/** The web server's own settings, handed through unchanged (see ShopServerOptions). */
type ServerSettings = Pick<
  ShopServerOptions,
  'banner' | 'warn' | 'allowedHosts' | 'secureCookies' | 'trustProxy' | 'sessionLimits' | 'staffSessionLimits' | 'photoLimits' | 'logError' | 'runTimers'
>;

export interface ShopAppOptions extends ServerSettings {
  model: LanguageModel;
  /** Holds shop.sqlite and sessions/ (one JSONL transcript per browser session); unused with a database URL. */
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
   * PostgreSQL connection string: everything the bot keeps goes there (conversations, audit
   * log, shop, sessions, approvals, run checkpoints), shared by every replica, instead of the
   * data directory.
   */
  databaseUrl?: string;
  /** With a database: how long a replica keeps a run it continues without renewing its lease (ms). Default 30 s. */
  runLeaseMs?: number;
}

export interface ShopApp {
  server: ShopServer;
  db: ShopStore;
  /** The staff user name, and the generated password on the start that created it (print it once). */
  staff: { username: string; generatedPassword?: string };
  agent: ReturnType<typeof createShopAgent>;
  /** Finishes the runs a stopped process left unfinished (call before listening). */
  recover(): Promise<RecoveryReport>;
  close(): Promise<void>;
}

/** With a database URL, connects and brings its schema up to date first (the bot does not start without it). */
export async function createShopApp(options: ShopAppOptions): Promise<ShopApp> {
  const { db, sessions, close: closeStores } = await openStores(options);
  const staff = await resolveStaffAccount(db, options.staff).catch(async (error: unknown) => {
    await closeStores();
    throw error;
  });
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
    // Renew a run's lease three times per lease; look for runs whose lease ran out once per lease.
    runTimers: options.runTimers ?? (options.runLeaseMs ? { renewEveryMs: options.runLeaseMs / 3, sweepEveryMs: options.runLeaseMs } : undefined),
  });
  // Conversations from before the verdict index: their verdicts are read from the audit log once.
  server.backfillVerdicts().catch((error) => console.error('customer-service: indexing earlier verdicts failed:', error));
  return {
    server,
    db,
    staff: { username: staff.username, generatedPassword: staff.generatedPassword },
    agent,
    recover: async () => {
      const report = await server.runs.recoverAll();
      server.runs.start();
      return report;
    },
    close: async () => {
      await server.close();
      await closeStores();
    },
  };
}
