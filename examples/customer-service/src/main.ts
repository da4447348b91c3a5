// Entry point: `pnpm start` (node --import tsx examples/customer-service/src/main.ts [options]).
import { ConfigError, parseConfig, USAGE } from './config.js';
import { createShopApp } from './app.js';
import { loadChatModel, loadGuardModels } from './models.js';

async function main(): Promise<number> {
  let config;
  try {
    // `pnpm start -- --flag` hands the "--" through to the script; drop it.
    const argv = process.argv.slice(2);
    config = parseConfig(argv[0] === '--' ? argv.slice(1) : argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`customer-service: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (config === 'help') {
    console.log(USAGE);
    return 0;
  }

  const log = (line: string) => console.log(line);
  const chat = await loadChatModel(config.model, log);
  const guards = await loadGuardModels(config.guard, config.promptGuardDir, log);
  const banner = [...chat.banner, ...guards.banner];
  const app = await createShopApp({
    model: chat.model,
    dataDir: config.dataDir,
    guards: { moderation: guards.moderation, promptGuard: guards.promptGuard },
    policy: { approvalLimit: config.refundApprovalLimit },
    sampling: chat.sampling,
    // A served model must not receive input before the guards passed or redacted it.
    inputGuardMode: config.model.kind === 'served' ? 'sequential' : 'parallel',
    banner,
    warn: chat.notReal,
    staff: config.staff,
    allowedHosts: config.allowedHosts,
    secureCookies: config.secureCookies,
    trustProxy: config.trustProxy,
    sessionLimits: { idleMs: config.sessionIdleDays * 24 * 60 * 60 * 1000, maxSessions: config.maxSessions },
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  });
  // Runs a stopped process left half-done (a refund paid, its reply not yet stored) finish first.
  const recovered = await app.recover();
  if (recovered.recovered + recovered.alreadyStored + recovered.failed > 0) {
    log(`Interrupted runs finished: ${recovered.recovered} recovered, ${recovered.alreadyStored} already stored, ${recovered.failed} failed again.`);
  }
  const url = await app.server.listen(config.port, config.host);

  const rule = '='.repeat(100);
  console.log(`\n${rule}\n${banner.join('\n')}\n${rule}`);
  console.log(`\nLookout Home support bot:  ${url}`);
  console.log(`  staff (refund approvals): ${url}staff`);
  console.log(`  moderation (verdicts):    ${url}moderation`);
  if (config.databaseUrl) {
    // Never the password: only where the data lives.
    const db = new URL(config.databaseUrl);
    console.log(`  data (everything):        PostgreSQL ${db.hostname}:${db.port || 5432}${db.pathname}, shared by every replica`);
  } else {
    console.log(`  data (SQLite, transcripts): ${config.dataDir}`);
  }
  console.log(`  answers Host:             ${app.server.allowedHosts.join(', ')}`);
  if (app.staff.generatedPassword) {
    console.log(`\n  Staff sign-in (${url}staff/signin), generated on this first start and shown only now:`);
    console.log(`    user: ${app.staff.username}    password: ${app.staff.generatedPassword}`);
    console.log(`  It is stored only as a scrypt hash in ${config.databaseUrl ? 'the database' : 'shop.sqlite'}; set --staff-password (LOOKOUT_STAFF_PASSWORD) to choose one.`);
  } else {
    console.log(`  staff sign-in:            user "${app.staff.username}" (${url}staff/signin)`);
  }
  console.log('');

  const stop = async () => {
    console.log('Shutting down ...');
    await app.close();
    await chat.dispose();
    await guards.dispose();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error) => {
    console.error(`customer-service: ${(error as Error).message}`);
    process.exit(1);
  },
);
