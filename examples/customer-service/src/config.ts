// Command-line flags and environment variables of the customer-service example.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LLAMA_GUARD_VARIANTS, type LlamaGuardVariant } from '@lookout/guards';

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
}

export class ConfigError extends Error {
  readonly code = 'example.config';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
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
  --data-dir <dir>       database and transcripts (default .cache/lookout/customer-service)
  --refund-limit <n>     refunds above this wait for staff approval (default 50)
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

  return {
    port,
    host: v.host ?? env.HOST ?? '127.0.0.1',
    dataDir: path.resolve(cwd, v['data-dir'] ?? env.LOOKOUT_DATA_DIR ?? '.cache/lookout/customer-service'),
    model,
    guard,
    promptGuardDir: promptGuardDir ? path.resolve(cwd, promptGuardDir) : undefined,
    refundApprovalLimit: limit,
  };
}
