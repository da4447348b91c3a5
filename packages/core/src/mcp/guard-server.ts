import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { PatternGuard, runGuarded, type Guard, type GuardSubject, type Stage, type Verdict } from '@lookout/guards';
import { compileArgumentsSchema } from '@lookout/tools';

/** Which guards answer each tool of the guard server. */
export interface GuardServerOptions {
  /** `moderate_text`: user input (role "user") or an agent's reply (role "agent"). */
  text: Guard[];
  /** `moderate_image`: an image, with optional text that goes with it. */
  image: Guard[];
  /** `check_tool_result`: what a tool returned, before a model reads it (indirect prompt injection). */
  toolResult: Guard[];
  /** Per-guard time limit in ms; a guard that does not answer in time counts as unsafe. Default 30 000. */
  timeoutMs?: number;
  /** Largest accepted image, in bytes after base64 decoding. Default 10 MiB. */
  maxImageBytes?: number;
  name?: string;
  version?: string;
}

/**
 * Instruction-override phrasing typical of prompt injection, for when no classifier is
 * configured. A heuristic: it catches the common wording, not a determined attacker.
 */
export function injectionHeuristics(): Guard {
  return new PatternGuard({
    name: 'injection-heuristics',
    category: 'prompt-injection',
    patterns: [
      /\b(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|preceding)\s+(instructions|prompts?|rules|directions)/i,
      /\byou\s+are\s+now\s+(in\s+)?(developer|dan|jailbreak|unrestricted)\b/i,
      /\b(reveal|print|show|repeat)\s+(your|the)\s+(system\s+prompt|hidden\s+instructions)/i,
      /\bnew\s+instructions\s*:/i,
      /<\|(im_start|start_header_id|system)\|>/i,
    ],
  });
}

const SCHEMAS = {
  moderate_text: {
    type: 'object',
    properties: {
      text: { type: 'string', description: 'The text to check.' },
      role: { enum: ['user', 'agent'], description: 'Whose text it is: "user" (input, default) or "agent" (a reply).' },
    },
    required: ['text'],
    additionalProperties: false,
  },
  moderate_image: {
    type: 'object',
    properties: {
      image: { type: 'string', description: 'The image: base64 bytes, or a data: URL.' },
      mimeType: { type: 'string', description: 'The image type when `image` is plain base64, e.g. image/png.' },
      text: { type: 'string', description: 'Text sent with the image, checked together with it.' },
    },
    required: ['image'],
    additionalProperties: false,
  },
  check_tool_result: {
    type: 'object',
    properties: {
      content: { type: 'string', description: 'What the tool returned, as text.' },
      toolName: { type: 'string', description: 'The tool that returned it.' },
      arguments: { description: 'The arguments the tool was called with.' },
    },
    required: ['content'],
    additionalProperties: false,
  },
} as const;

const DESCRIPTIONS: Record<keyof typeof SCHEMAS, string> = {
  moderate_text: 'Checks a user message or an agent reply with the configured guards; answers {safe, categories, verdicts}.',
  moderate_image: 'Checks an image (and text sent with it) with the configured guards; answers {safe, categories, verdicts}.',
  check_tool_result: 'Checks a tool result for indirect prompt injection and unsafe content before a model reads it; answers {safe, categories, verdicts}.',
};

const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    safe: { type: 'boolean' },
    categories: { type: 'array', items: { type: 'string' } },
    verdicts: { type: 'array', items: { type: 'object' } },
  },
  required: ['safe', 'categories', 'verdicts'],
};

/**
 * An MCP server whose tools are Lookout's guards: `moderate_text`, `moderate_image` and
 * `check_tool_result`. Each runs its guards in parallel, fail-closed, and answers whether the
 * content is safe with every guard's verdict. Connect it to any transport.
 */
export function createGuardServer(options: GuardServerOptions): Server {
  const server = new Server({ name: options.name ?? 'lookout-guards', version: options.version ?? '0.1.0' }, { capabilities: { tools: {} } });
  const checks = Object.fromEntries(Object.entries(SCHEMAS).map(([name, schema]) => [name, compileArgumentsSchema(name, schema)]));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxImageBytes = options.maxImageBytes ?? 10 * 1024 * 1024;

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (Object.keys(SCHEMAS) as Array<keyof typeof SCHEMAS>).map((name) => ({
      name,
      description: DESCRIPTIONS[name],
      inputSchema: SCHEMAS[name] as unknown as { type: 'object' },
      outputSchema: OUTPUT_SCHEMA as { type: 'object' },
      annotations: { readOnlyHint: true, openWorldHint: false },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params;
    const check = checks[name];
    if (!check) return failure(`Unknown tool "${name}". Available tools: ${Object.keys(SCHEMAS).join(', ')}.`);
    const parsed = check(request.params.arguments ?? {});
    if (!parsed.success) return failure(`Invalid arguments for tool "${name}":\n${parsed.issues.map((l) => `- ${l}`).join('\n')}`);
    const args = parsed.data as Record<string, unknown>;

    let guards: Guard[];
    let subject: GuardSubject;
    if (name === 'moderate_text') {
      const stage: Stage = args.role === 'agent' ? 'output' : 'input';
      guards = options.text;
      subject = { stage, conversation: [], content: { text: args.text as string, images: [] } };
    } else if (name === 'moderate_image') {
      const image = decodeImage(args.image as string, args.mimeType as string | undefined, maxImageBytes);
      if (typeof image === 'string') return failure(image);
      guards = options.image;
      subject = { stage: 'input', conversation: [], content: { text: (args.text as string | undefined) ?? '', images: [image] } };
    } else {
      guards = options.toolResult;
      subject = {
        stage: 'tool-result',
        conversation: [],
        content: { text: args.content as string, images: [] },
        tool: { name: (args.toolName as string | undefined) ?? 'unknown', arguments: args.arguments },
      };
    }
    const verdicts = await Promise.all(guards.map((guard) => runGuarded(guard, subject, { timeoutMs, signal: extra.signal })));
    const answer = {
      safe: verdicts.every((v) => v.safe),
      categories: [...new Set(verdicts.flatMap((v) => v.categories))],
      verdicts: verdicts.map(summarise),
    };
    return { content: [{ type: 'text', text: JSON.stringify(answer) }], structuredContent: answer };
  });
  return server;
}

function summarise(v: Verdict) {
  return {
    guard: v.guard,
    safe: v.safe,
    categories: v.categories,
    ...(v.score !== undefined ? { score: v.score } : {}),
    ...(v.failure ? { failure: v.failure } : {}),
    ...(v.reason ? { reason: v.reason } : {}),
    latencyMs: Math.round(v.latencyMs * 10) / 10,
  };
}

function failure(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

const DATA_URL = /^data:(image\/[\w.+-]+);base64,(.*)$/s;

/** The image's bytes, or what was wrong with it. */
function decodeImage(image: string, mimeType: string | undefined, maxBytes: number): Uint8Array | string {
  const match = DATA_URL.exec(image);
  const base64 = (match ? match[2] : image).replace(/\s+/g, '');
  if (!match && mimeType !== undefined && !mimeType.startsWith('image/')) return `mimeType "${mimeType}" is not an image type; image/png, image/jpeg, image/webp or image/gif are accepted.`;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length === 0) return 'image is not accepted: give base64 bytes or a data:image/...;base64, URL.';
  if (Math.floor((base64.length * 3) / 4) > maxBytes) return `image is larger than the accepted ${maxBytes} bytes.`;
  return new Uint8Array(Buffer.from(base64, 'base64'));
}
