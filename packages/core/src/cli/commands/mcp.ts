import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LLAMA_GUARD_VARIANTS, LlamaGuard, PiiGuard, PromptGuard, SizeLimitGuard, type Guard, type LlamaGuardVariant } from '@lookout/guards';
import { LlamaTokenizer } from '@lookout/runtime';
import type { CliCommand, CliIo } from '../command.js';
import { CliUsageError, intOption, parseCliArgs } from '../command.js';
import { loadLanguageModel } from '../../serve/load-model.js';
import { MODEL_OPTIONS, modelSourceOptions } from '../model-options.js';
import { createGuardServer, injectionHeuristics, type GuardServerOptions } from '../../mcp/guard-server.js';

const usage = `Usage: lookout mcp [options]

Serves Lookout's guards as MCP tools: moderate_text, moderate_image and check_tool_result.
Over stdio by default (for an MCP client that starts the command); --http serves streamable
HTTP on /mcp instead. Each tool answers {safe, categories, verdicts}.

Without a guard model the rule guards answer, so it runs anywhere:
  moderate_text       personal data (PII) and injection heuristics
  moderate_image      image size limits, and personal data in the text sent with it
  check_tool_result   injection heuristics (instruction-override phrasing)

Transport:
  --http <port>              streamable HTTP on this port (0: any free port) instead of stdio
  --host <host>              address to listen on with --http (default 127.0.0.1)

Guard model (optional; Llama Guard 3 then checks every tool's content as well):
  --model-dir <dir>          in-process model directory
  --base-url <url> --model <name> [--api-key <key>]   a served engine (vLLM, Ollama, TGI, ...)
  --device cpu|cuda          for --model-dir (default cpu)
  --dtype fp32|fp16|int4     which build of --model-dir
  --variant <v>              11b-vision (default; also checks images) | 1b | 8b
  --prompt-guard-dir <dir>   a Prompt Guard classifier for moderate_text and check_tool_result

Limits:
  --timeout-ms <ms>          per-guard time limit; a guard that does not answer counts as unsafe (default 30000)
  --max-image-bytes <n>      largest accepted image (default 10485760)

Examples:
  lookout mcp
  lookout mcp --http 8765
  lookout mcp --base-url http://localhost:8000/v1 --model meta-llama/Llama-Guard-3-11B-Vision
`;

const options = {
  http: { type: 'string' },
  host: { type: 'string' },
  variant: { type: 'string' },
  'prompt-guard-dir': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-image-bytes': { type: 'string' },
  ...MODEL_OPTIONS,
} as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

const mcp: CliCommand = {
  name: 'mcp',
  summary: 'serve the guards as MCP tools (moderate_text, moderate_image, check_tool_result)',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseCliArgs(argv, options);
    const variant = (values.variant ?? '11b-vision') as LlamaGuardVariant;
    if (!LLAMA_GUARD_VARIANTS.includes(variant)) throw new CliUsageError(`--variant must be one of ${LLAMA_GUARD_VARIANTS.join(', ')}; got "${values.variant}"`);
    const port = values.http !== undefined ? intOption(values.http, '--http', 0, 0, 65535) : undefined;
    if (values.host !== undefined && port === undefined) throw new CliUsageError('--host needs --http <port>');
    const host = values.host ?? '127.0.0.1';
    const timeoutMs = intOption(values['timeout-ms'], '--timeout-ms', 30_000, 1);
    const maxImageBytes = intOption(values['max-image-bytes'], '--max-image-bytes', 10 * 1024 * 1024, 1);
    if (values['model-dir'] === undefined && values['base-url'] === undefined && (values.model !== undefined || values.variant !== undefined)) {
      throw new CliUsageError('--model and --variant need a guard model: --model-dir <dir> or --base-url <url> --model <name>');
    }

    const size = new SizeLimitGuard({ maxImageBytes, maxImages: 1 });
    const guards: GuardServerOptions = {
      text: [new PiiGuard(), injectionHeuristics()],
      image: [size, new PiiGuard()],
      toolResult: [injectionHeuristics()],
      timeoutMs,
      maxImageBytes,
    };
    const closers: Array<() => Promise<unknown> | unknown> = [];
    if (values['model-dir'] !== undefined || values['base-url'] !== undefined) {
      const model = await loadLanguageModel(modelSourceOptions(values));
      closers.push(() => model.dispose?.());
      const tokenizer = values['model-dir'] ? await LlamaTokenizer.fromDirectory(values['model-dir']) : undefined;
      const llamaGuard = new LlamaGuard({ model, variant, tokenizer });
      guards.text.push(llamaGuard);
      guards.toolResult.push(llamaGuard);
      if (variant === '11b-vision') guards.image.push(llamaGuard);
    }
    if (values['prompt-guard-dir'] !== undefined) {
      const promptGuard = await PromptGuard.load(values['prompt-guard-dir']);
      closers.push(() => promptGuard.close());
      guards.text.push(promptGuard);
      guards.toolResult.push(promptGuard);
    }
    const names = (list: Guard[]) => list.map((g) => g.name).join(', ');
    const describe = `moderate_text: ${names(guards.text)}; moderate_image: ${names(guards.image)}; check_tool_result: ${names(guards.toolResult)}`;

    try {
      if (port === undefined) {
        // stdout carries the protocol: everything else goes to stderr.
        const server = createGuardServer(guards);
        const transport = new StdioServerTransport(io.stdin as Readable, io.stdout as Writable);
        const closed = new Promise<void>((resolve) => {
          transport.onclose = () => resolve();
          io.stdin.once('end', () => resolve());
        });
        await server.connect(transport);
        io.stderr.write(`lookout mcp: guards on stdio (${describe})\n`);
        await closed;
        await server.close().catch(() => {});
        return 0;
      }
      return await serveHttp(guards, host, port, describe, io);
    } finally {
      for (const close of closers) await close();
    }
  },
};

export default mcp;

/** Streamable HTTP on /mcp, stateless: each request gets its own server and transport. */
async function serveHttp(guards: GuardServerOptions, host: string, port: number, describe: string, io: CliIo): Promise<number> {
  let allowedHosts: string[] | undefined;
  const http = createServer((req, res) => {
    handle(req, res).catch((error) => {
      io.stderr.write(`lookout mcp: ${(error as Error).message}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/mcp') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the MCP endpoint is /mcp\n');
      return;
    }
    if (req.method !== 'POST') {
      // Stateless: no server-initiated stream and no session to end.
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end(
        JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless and accepts POST only.' }, id: null }),
      );
      return;
    }
    const server = createGuardServer(guards);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      ...(allowedHosts ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => reject(new CliUsageError(`--http ${port}: ${(error as Error).message}`)));
    http.listen(port, host, () => resolve());
  });
  const bound = (http.address() as { port: number }).port;
  // On loopback a page in a browser must not reach the server under another name (DNS rebinding).
  if (LOOPBACK.has(host)) allowedHosts = [...LOOPBACK].flatMap((h) => [h.includes(':') ? `[${h}]:${bound}` : `${h}:${bound}`]);
  const shown = host.includes(':') ? `[${host}]` : host;
  io.stderr.write(`lookout mcp: guards on http://${shown}:${bound}/mcp (${describe})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      http.close(() => resolve());
      http.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
