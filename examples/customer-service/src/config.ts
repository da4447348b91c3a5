// Command-line flags and environment variables of the customer-service example.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LLAMA_GUARD_VARIANTS, type LlamaGuardVariant } from '@lookout/guards';
import { LookoutError } from '@lookout/tools/errors';

export type ModelChoice =
  | { kind: 'tiny'; cacheDir: string }
  | { kind: 'demo' }
  | { kind: 'dir'; dir: string; device: 'cpu' | 'cuda' }
  | { kind: 'served'; baseUrl: string; model: string; apiKey?: string };

export type GuardChoice =
  | { kind: 'none' }
  | { kind: 'dir'; dir: string; variant: LlamaGuardVariant; device: 'cpu' | 'cuda' }
  | { kind: 'served'; baseUrl: string; model: string; variant: LlamaGuardVariant; apiKey?: string };

export interface ShopConfig {
  port: number;
  host: string;
  /** SQLite database, session transcripts. */
  dataDir: string;
  model: ModelChoice;
  guard: GuardChoice;
  promptGuardDir?: string;
  refundApprovalLimit: number;
  /** Staff sign-in; without a password one is generated on first start and stored hashed. */
  staff: { user?: string; password?: string };
  /** Host header values answered; undefined: the bound host and port (plus localhost names on loopback). */
  allowedHosts?: string[];
  secureCookies: boolean;
  trustProxy: boolean;
  /** Customer sessions unused for this many days are signed out. */
  sessionIdleDays: number;
  /** Live customer sessions kept at most (least recently used signed out first). */
  maxSessions: number;
  /**
   * PostgreSQL for everything the bot keeps (postgres://…), shared by replicas; absent: SQLite
   * and one JSONL transcript per conversation under the data directory.
   */
  databaseUrl?: string;
}

export class ConfigError extends LookoutError<'example.config'> {
  constructor(message: string) {
    super('example.config', message);
  }
}

export const USAGE = `Usage: pnpm start [-- options]      (node --import tsx examples/customer-service/src/main.ts)

Model (default: a tiny random checkpoint generated on first start; its replies are random):
  --model-dir <dir>      Llama 3.2 Vision directory, run in-process   (env LOOKOUT_MODEL_DIR)
  --device <cpu|cuda>    execution provider for --model-dir / --guard-dir (default cpu)
  --base-url <url>       OpenAI-compatible engine, e.g. http://localhost:8000/v1 (env LOOKOUT_BASE_URL)
  --model <name>         model name on that engine                   (env LOOKOUT_MODEL)
  --api-key <key>        bearer token for the engine                 (env LOOKOUT_API_KEY)
  --demo                 scripted demo model that uses the tools     (env LOOKOUT_DEMO=1)

Guards (PII redaction and message limits are always on):
  --guard-dir <dir>      Llama Guard 3 directory, in-process         (env LOOKOUT_GUARD_DIR)
  --guard-url <url>      Llama Guard 3 on a served engine, with --guard-model <name>
  --guard-variant <v>    ${LLAMA_GUARD_VARIANTS.join(' | ')} (default 11b-vision)
  --prompt-guard-dir <d> Prompt Guard (ONNX) on tool results         (env LOOKOUT_PROMPT_GUARD_DIR)

Server:
  --port <n>             (env PORT, default 3000)
  --host <h>             (env HOST, default 127.0.0.1)
  --data-dir <dir>       SQLite database and transcripts (default .cache/lookout/customer-service)
  --refund-limit <n>     refunds above this wait for staff approval (default 50)

Staff and deployment (see "Deploying the bot" in docs/examples.md):
  --staff-user <name>    staff user name                             (env LOOKOUT_STAFF_USER, default staff)
  --staff-password <pw>  staff password, 12+ characters              (env LOOKOUT_STAFF_PASSWORD; default:
                         generated on first start, printed once, stored hashed in the data dir)
  --allowed-hosts <list> comma-separated Host names the bot answers, e.g. shop.example.com
                         (env LOOKOUT_ALLOWED_HOSTS; default: --host:--port, plus localhost on loopback)
  --secure-cookies       mark cookies Secure (serving over https)    (env LOOKOUT_SECURE_COOKIES=1)
  --trust-proxy          trust X-Forwarded-Proto/-For from the reverse proxy in front (env LOOKOUT_TRUST_PROXY=1)
  --session-idle-days <n> customer sessions unused this long are signed out (default 30)
  --max-sessions <n>     live customer sessions kept at most (default 10000)
  --database-url <url>   PostgreSQL (postgres://user:pass@host:5432/db) for everything the bot keeps:
                         conversations, audit log, customers, orders, refunds, sign-ins, approvals
                         and run checkpoints, shared by any number of replicas (env DATABASE_URL;
                         default: SQLite and JSONL transcripts in the data dir).
`;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ShopConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        'model-dir': { type: 'string' },
        device: { type: 'string' },
        'base-url': { type: 'string' },
        model: { type: 'string' },
        'api-key': { type: 'string' },
        demo: { type: 'boolean' },
        'guard-dir': { type: 'string' },
        'guard-url': { type: 'string' },
        'guard-model': { type: 'string' },
        'guard-variant': { type: 'string' },
        'prompt-guard-dir': { type: 'string' },
        'refund-limit': { type: 'string' },
        'staff-user': { type: 'string' },
        'staff-password': { type: 'string' },
        'allowed-hosts': { type: 'string' },
        'secure-cookies': { type: 'boolean' },
        'trust-proxy': { type: 'boolean' },
        'session-idle-days': { type: 'string' },
        'max-sessions': { type: 'string' },
        'database-url': { type: 'string' },
      },
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}. Run with --help for the accepted options.`);
  }
  const v = parsed.values;
  if (v.help) return 'help';

  const port = Number(v.port ?? env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port / PORT must be an integer 0-65535, got "${v.port ?? env.PORT}"`);
  const device = v.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new ConfigError(`--device must be cpu or cuda, got "${device}"`);
  const variant = (v['guard-variant'] ?? env.LOOKOUT_GUARD_VARIANT ?? '11b-vision') as LlamaGuardVariant;
  if (!LLAMA_GUARD_VARIANTS.includes(variant)) throw new ConfigError(`--guard-variant must be one of ${LLAMA_GUARD_VARIANTS.join(', ')}, got "${variant}"`);
  const limit = Number(v['refund-limit'] ?? 50);
  if (!(limit >= 0)) throw new ConfigError(`--refund-limit must be a non-negative number, got "${v['refund-limit']}"`);

  const modelDir = v['model-dir'] ?? env.LOOKOUT_MODEL_DIR;
  const baseUrl = v['base-url'] ?? env.LOOKOUT_BASE_URL;
  const demo = v.demo ?? (env.LOOKOUT_DEMO === '1' || env.LOOKOUT_DEMO === 'true');
  const chosen = [modelDir && '--model-dir', baseUrl && '--base-url', demo && '--demo'].filter(Boolean);
  if (chosen.length > 1) throw new ConfigError(`choose one model: ${chosen.join(' and ')} were both given`);
  const apiKey = v['api-key'] ?? env.LOOKOUT_API_KEY;
  let model: ModelChoice;
  if (modelDir) model = { kind: 'dir', dir: path.resolve(cwd, modelDir), device };
  else if (baseUrl) {
    const name = v.model ?? env.LOOKOUT_MODEL;
    if (!name) throw new ConfigError('--base-url needs --model <name> (or LOOKOUT_MODEL): the model name the engine serves');
    model = { kind: 'served', baseUrl, model: name, apiKey };
  } else if (demo) model = { kind: 'demo' };
  else model = { kind: 'tiny', cacheDir: path.resolve(cwd, env.LOOKOUT_CACHE_DIR ?? '.cache/lookout', 'tiny') };

  const guardDir = v['guard-dir'] ?? env.LOOKOUT_GUARD_DIR;
  const guardUrl = v['guard-url'] ?? env.LOOKOUT_GUARD_URL;
  if (guardDir && guardUrl) throw new ConfigError('give either --guard-dir or --guard-url, not both');
  let guard: GuardChoice = { kind: 'none' };
  if (guardDir) guard = { kind: 'dir', dir: path.resolve(cwd, guardDir), variant, device };
  else if (guardUrl) {
    const name = v['guard-model'] ?? env.LOOKOUT_GUARD_MODEL;
    if (!name) throw new ConfigError('--guard-url needs --guard-model <name>: the Llama Guard model name the engine serves');
    guard = { kind: 'served', baseUrl: guardUrl, model: name, variant, apiKey };
  }
  const promptGuardDir = v['prompt-guard-dir'] ?? env.LOOKOUT_PROMPT_GUARD_DIR;

  const staffUser = v['staff-user'] ?? env.LOOKOUT_STAFF_USER;
  if (staffUser !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(staffUser)) {
    throw new ConfigError(`--staff-user / LOOKOUT_STAFF_USER must be 1-64 letters, digits, ".", "_", "@" or "-", got "${staffUser}"`);
  }
  const staffPassword = v['staff-password'] ?? env.LOOKOUT_STAFF_PASSWORD;
  if (staffPassword !== undefined && staffPassword.length < 12) {
    throw new ConfigError(`--staff-password / LOOKOUT_STAFF_PASSWORD must be at least 12 characters (got ${staffPassword.length})`);
  }
  const hostsText = v['allowed-hosts'] ?? env.LOOKOUT_ALLOWED_HOSTS;
  const allowedHosts = hostsText
    ?.split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (const h of allowedHosts ?? []) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(h)) throw new ConfigError(`--allowed-hosts: "${h}" is not a host name or address with an optional :port`);
  }
  if (hostsText !== undefined && !allowedHosts?.length) throw new ConfigError('--allowed-hosts / LOOKOUT_ALLOWED_HOSTS needs at least one host name');
  const flag = (value: boolean | undefined, envValue: string | undefined) => value ?? (envValue === '1' || envValue === 'true');
  const idleDays = Number(v['session-idle-days'] ?? env.LOOKOUT_SESSION_IDLE_DAYS ?? 30);
  if (!(idleDays > 0 && idleDays <= 3650)) throw new ConfigError(`--session-idle-days must be a number of days from 0 to 3650 (more than 0), got "${v['session-idle-days'] ?? env.LOOKOUT_SESSION_IDLE_DAYS}"`);
  const maxSessions = Number(v['max-sessions'] ?? env.LOOKOUT_MAX_SESSIONS ?? 10_000);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new ConfigError(`--max-sessions must be a positive integer, got "${v['max-sessions'] ?? env.LOOKOUT_MAX_SESSIONS}"`);

  const databaseUrl = v['database-url'] ?? (env.DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) {
    throw new ConfigError('--database-url / DATABASE_URL must be a PostgreSQL connection string, postgres://user:password@host:5432/database (or postgresql://…)');
  }

  return {
    port,
    host: v.host ?? env.HOST ?? '127.0.0.1',
    dataDir: path.resolve(cwd, v['data-dir'] ?? env.LOOKOUT_DATA_DIR ?? '.cache/lookout/customer-service'),
    model,
    guard,
    promptGuardDir: promptGuardDir ? path.resolve(cwd, promptGuardDir) : undefined,
    refundApprovalLimit: limit,
    staff: { user: staffUser, password: staffPassword },
    allowedHosts,
    secureCookies: flag(v['secure-cookies'], env.LOOKOUT_SECURE_COOKIES),
    trustProxy: flag(v['trust-proxy'], env.LOOKOUT_TRUST_PROXY),
    sessionIdleDays: idleDays,
    maxSessions,
    ...(databaseUrl ? { databaseUrl } : {}),
  };
}
