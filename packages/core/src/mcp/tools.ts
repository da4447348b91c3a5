import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ResourceListChangedNotificationSchema, ToolListChangedNotificationSchema, type Tool as McpToolInfo } from '@modelcontextprotocol/sdk/types.js';
import { VerdictCache, type Verdict } from '@lookout/guards';
import { defineJsonSchemaTool, ToolDefinitionError, ToolError, type AnyTool, type ToolContext } from '@lookout/tools';
import { resolveGuards, type GuardSetting, type ResolvedGuard } from '../guarding/config.js';
import { withRunCache } from '../guarding/run-cache.js';
import { runStage } from '../guarding/run-stage.js';
import { endSpan, startSpan } from '../tracing/spans.js';
import { convertResult, type McpCallResult } from './content.js';
import { McpAdapterError } from './errors.js';
import { allPages } from './pages.js';
import { listAllResources, readResourceInfo, readResourceResult } from './resources.js';

/** A server started as a child process and spoken to over stdio. */
export interface McpStdioServer {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** What happens to the server's stderr. Default 'inherit'. */
  stderr?: 'inherit' | 'ignore' | 'pipe';
}

/** A server reached over streamable HTTP. */
export interface McpHttpServer {
  url: string | URL;
  /** Sent with every request (e.g. an Authorization header). */
  headers?: Record<string, string>;
}

/** A connected (or connectable) client, a transport, or how to reach the server. */
export type McpServerSource = Client | Transport | McpStdioServer | McpHttpServer;

/** A server tool as described to `needsApproval`. */
export interface McpToolDescription {
  server: string;
  name: string;
  annotations?: McpToolInfo['annotations'];
}

export interface McpToolsOptions {
  /** The server's name in tool names and the audit. Default: the name the server reports. */
  name?: string;
  /**
   * Put in front of every tool name (`<prefix>__<tool>`), so the audit and the model see which
   * server a tool comes from and two servers' tools cannot collide. Default: `name`; `false` for
   * the server's own tool names.
   */
  prefix?: string | false;
  /** Only these server tools (their server names) are offered. */
  allow?: string[];
  /** These server tools are never offered; wins over `allow`. */
  deny?: string[];
  /**
   * Which calls wait for a human decision (see the agent's approval flow): all (`true`), the
   * listed server tools, or a rule over the tool and its arguments. Default: none.
   */
  needsApproval?: boolean | string[] | ((tool: McpToolDescription, args: Record<string, unknown>) => boolean | Promise<boolean>);
  /** Per-call timeout in ms; the call is cancelled on the server (MCP cancellation). Default 30 000. */
  timeoutMs?: number;
  /** Longest result text handed back to the model (characters). */
  maxOutputChars?: number;
  /** Images in results: passed to the tool-result guards as data: URLs (default), or dropped. */
  images?: 'guard' | 'drop';
  /** Longest wait for the connection and each tool listing, in ms. Default 30 000. */
  connectTimeoutMs?: number;
  /** Called after the tool list changed on the server and `tools` was updated. */
  onToolsChanged?: (tools: McpTool[]) => void;
  /** Called when a refresh after a change notification failed (the previous list stays). */
  onError?: (error: unknown) => void;
  /**
   * Guards that read what the server says about each tool (its name, title, description and the
   * texts of its input schema) before the tool is offered, at the first listing and after every
   * `list_changed`: a description is untrusted text the model reads, the same as a result. Pass
   * the agent's tool-result guards (Prompt Guard, an injection pattern); they see a `tool-result`
   * subject. A tool any of them flags (block or redact) is not offered: it is listed in
   * `skipped` and reported to `onToolFlagged`. Default: none (descriptions go to the model unchecked).
   */
  descriptionGuards?: GuardSetting[];
  /** Per-guard time limit for `descriptionGuards`, in ms; a guard that runs over flags the tool unless failOpen. Default 10 000. */
  guardTimeoutMs?: number;
  /** Called for each tool whose description a guard flagged, and which is therefore not offered (once per tool and description). */
  onToolFlagged?: (event: McpToolFlagged) => void;
  /**
   * Offer the server's resources through one more tool, `<prefix>__read_resource`, whose `uri`
   * accepts only the listed resources' URIs (the first 100). What it reads passes the tool-result
   * guards like any tool result; the list is read again on `resources/list_changed`. `allow`,
   * `deny`, `needsApproval` and `descriptionGuards` apply to it under the name `read_resource`.
   * Ignored for a server without the resources capability. Default false.
   */
  resources?: boolean;
}

/** A server tool that `descriptionGuards` kept from the model. */
export interface McpToolFlagged {
  server: string;
  /** The tool's name on the server. */
  tool: string;
  /** The verdict that decided. */
  verdict: Verdict;
}

/** A Lookout tool backed by an MCP server's tool. */
export type McpTool = AnyTool & { readonly mcp: { server: string; tool: string } };

export interface McpToolset {
  /** The server's name as used in tool names and the audit. */
  readonly server: string;
  /**
   * The server's tools as Lookout tools. The array is updated in place when the server
   * announces a changed list, so an agent given this very array uses the new list from its
   * next run; a copy (`[...native, ...toolset.tools]`) keeps the list it was made from.
   */
  readonly tools: McpTool[];
  /** Server tools that could not be offered, and why (bad name, bad schema, filtered out). */
  readonly skipped: ReadonlyArray<{ name: string; reason: string }>;
  readonly client: Client;
  /** Lists the server's tools again and updates `tools`. */
  refresh(): Promise<McpTool[]>;
  /** Stops listening for changes; closes the connection when `mcpTools` opened it. */
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'lookout', version: '0.1.0' };

/**
 * Connects to an MCP server and offers its tools as Lookout tools for `new Agent({ tools })`.
 * Arguments are validated against each tool's JSON Schema before the call (ajv), and every call
 * and result passes the agent's tool-call and tool-result guards like any native tool's.
 */
export async function mcpTools(source: McpServerSource, options: McpToolsOptions = {}): Promise<McpToolset> {
  checkOptions(options);
  const { client, owned } = await connect(source, options.connectTimeoutMs ?? 30_000);
  const server = options.name ?? client.getServerVersion()?.name ?? 'mcp';
  const prefix = options.prefix === false ? '' : sanitize(options.prefix ?? server);
  const tools: McpTool[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  let closed = false;
  const screen = descriptionScreen(server, options);
  const watch = new ConnectionWatch(client, server);
  // The read_resource tool descriptions made by load(), told apart from a server tool of that name.
  const resourceReaders = new WeakSet<McpToolInfo>();

  const load = async (): Promise<McpTool[]> => {
    let listed: McpToolInfo[];
    const timeout = options.connectTimeoutMs ?? 30_000;
    try {
      // A server without the tools capability (resources only) has no tool list to read.
      listed = client.getServerCapabilities()?.tools ? await listAll(client, timeout) : [];
    } catch (error) {
      throw new McpAdapterError('mcp-list-failed', `Listing the tools of MCP server "${server}" failed: ${(error as Error).message}`, { cause: error });
    }
    if (options.resources && client.getServerCapabilities()?.resources) {
      try {
        const resources = await listAllResources(client, timeout);
        if (resources.length) {
          const info = readResourceInfo(resources);
          resourceReaders.add(info);
          listed.push(info);
        }
      } catch (error) {
        throw new McpAdapterError('mcp-list-failed', `Listing the resources of MCP server "${server}" failed: ${(error as Error).message}`, { cause: error });
      }
    }
    const next: McpTool[] = [];
    const nextSkipped: Array<{ name: string; reason: string }> = [];
    const flagged = await screen(listed);
    for (const info of listed) {
      const verdict = flagged.get(info);
      if (verdict) {
        nextSkipped.push({ name: info.name, reason: `its description was flagged by guard "${verdict.guard}"${verdict.categories.length ? ` (${verdict.categories.join(', ')})` : ''}` });
        continue;
      }
      if (options.deny?.includes(info.name)) {
        nextSkipped.push({ name: info.name, reason: 'on the deny list' });
        continue;
      }
      if (options.allow && !options.allow.includes(info.name)) {
        nextSkipped.push({ name: info.name, reason: 'not on the allow list' });
        continue;
      }
      try {
        const tool = toLookoutTool(client, server, prefix, info, options, watch, resourceReaders.has(info));
        if (next.some((t) => t.name === tool.name)) {
          nextSkipped.push({ name: info.name, reason: `its name "${tool.name}" is taken by another tool of the server` });
          continue;
        }
        next.push(tool);
      } catch (error) {
        if (!(error instanceof ToolDefinitionError)) throw error;
        nextSkipped.push({ name: info.name, reason: error.message });
      }
    }
    tools.splice(0, tools.length, ...next);
    skipped.splice(0, skipped.length, ...nextSkipped);
    return tools;
  };

  let refreshing: Promise<McpTool[]> = Promise.resolve(tools);
  const refresh = () => {
    refreshing = refreshing.catch(() => tools).then(load);
    return refreshing;
  };

  try {
    await load();
  } catch (error) {
    watch.stop();
    if (owned) await client.close().catch(() => {});
    throw error;
  }

  const onListChanged = async () => {
    if (closed) return;
    try {
      await refresh();
      options.onToolsChanged?.(tools);
    } catch (error) {
      options.onError?.(error);
    }
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, onListChanged);
  if (options.resources) client.setNotificationHandler(ResourceListChangedNotificationSchema, onListChanged);

  return {
    server,
    tools,
    skipped,
    client,
    refresh,
    async close() {
      closed = true;
      watch.stop();
      client.removeNotificationHandler(ToolListChangedNotificationSchema.shape.method.value);
      if (options.resources) client.removeNotificationHandler(ResourceListChangedNotificationSchema.shape.method.value);
      if (owned) await client.close();
    },
  };
}

function checkOptions(options: McpToolsOptions): void {
  const bad = (what: string) => {
    throw new McpAdapterError('mcp-invalid-options', `mcpTools: ${what}.`);
  };
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) bad(`timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
  if (options.connectTimeoutMs !== undefined && !(options.connectTimeoutMs > 0)) bad(`connectTimeoutMs must be a positive number of milliseconds, got ${options.connectTimeoutMs}`);
  if (options.guardTimeoutMs !== undefined && !(options.guardTimeoutMs > 0)) bad(`guardTimeoutMs must be a positive number of milliseconds, got ${options.guardTimeoutMs}`);
  try {
    resolveGuards(options.descriptionGuards, 1, 'descriptionGuards');
  } catch (error) {
    bad((error as Error).message.replace(/^guards\./, '').replace(/\.$/, ''));
  }
  if (options.images !== undefined && options.images !== 'guard' && options.images !== 'drop') bad(`images must be 'guard' or 'drop', got ${JSON.stringify(options.images)}`);
  if (options.resources !== undefined && typeof options.resources !== 'boolean') bad(`resources must be true or false, got ${JSON.stringify(options.resources)}`);
  for (const key of ['allow', 'deny'] as const) {
    const list = options[key];
    if (list !== undefined && (!Array.isArray(list) || list.some((n) => typeof n !== 'string'))) bad(`${key} must be an array of tool names`);
  }
}

async function connect(source: McpServerSource, timeout: number): Promise<{ client: Client; owned: boolean }> {
  if (source instanceof Client) {
    if (!source.transport) {
      throw new McpAdapterError('mcp-invalid-options', 'mcpTools: the MCP client is not connected; call client.connect(transport) first, or pass the transport.');
    }
    return { client: source, owned: false };
  }
  let transport: Transport;
  if (isTransport(source)) transport = source;
  else if ('command' in source && typeof source.command === 'string') {
    transport = new StdioClientTransport({ command: source.command, args: source.args, env: source.env, cwd: source.cwd, stderr: source.stderr ?? 'inherit' });
  } else if ('url' in source && source.url) {
    let url: URL;
    try {
      url = new URL(source.url);
    } catch {
      throw new McpAdapterError('mcp-invalid-options', `mcpTools: "${String(source.url)}" is not a URL; an http(s) URL of the server's MCP endpoint is accepted.`);
    }
    transport = new StreamableHTTPClientTransport(url, source.headers ? { requestInit: { headers: source.headers } } : undefined);
  } else {
    throw new McpAdapterError('mcp-invalid-options', 'mcpTools: the server is not accepted; pass a connected Client, a Transport, { command, args } (stdio) or { url } (streamable HTTP).');
  }
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  try {
    await client.connect(transport, { timeout });
  } catch (error) {
    await client.close().catch(() => {});
    throw new McpAdapterError('mcp-connect-failed', `Connecting to the MCP server failed: ${(error as Error).message}`, { cause: error });
  }
  return { client, owned: true };
}

function isTransport(value: unknown): value is Transport {
  const t = value as Transport;
  return typeof t?.start === 'function' && typeof t.send === 'function' && typeof t.close === 'function';
}

function listAll(client: Client, timeout: number): Promise<McpToolInfo[]> {
  return allPages(async (cursor) => {
    const page = await client.listTools(cursor ? { cursor } : undefined, { timeout });
    return { items: page.tools, nextCursor: page.nextCursor };
  });
}

/** A name the Llama tool format accepts: letters, digits, "_" and "-". */
function sanitize(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_-]+/g, '_');
  return /^[A-Za-z_]/.test(clean) ? clean : `_${clean}`;
}

function toLookoutTool(client: Client, server: string, prefix: string, info: McpToolInfo, options: McpToolsOptions, watch: ConnectionWatch, readsResources: boolean): McpTool {
  const name = prefix ? `${prefix}__${sanitize(info.name)}` : sanitize(info.name);
  const description: McpToolDescription = { server, name: info.name, ...(info.annotations ? { annotations: info.annotations } : {}) };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const rule = options.needsApproval;
  const needsApproval =
    rule === undefined || typeof rule === 'boolean'
      ? rule
      : Array.isArray(rule)
        ? rule.includes(info.name)
        : (args: Record<string, unknown>) => rule(description, args);

  const execute = async (args: Record<string, unknown>, ctx: ToolContext) => {
    let result: McpCallResult;
    // Aborted by the runner (timeout, run aborted) through ctx.signal, or by the watch when the
    // connection is found lost mid-call; either way the SDK sends notifications/cancelled.
    const call = watch.begin(ctx.signal);
    try {
      // Its own timer is set later so the runner's timeout is the one that answers.
      const request = { signal: call.signal, timeout: timeoutMs + 1_000 };
      result = readsResources
        ? await readResourceResult(client, String(args.uri), request)
        : ((await client.callTool({ name: info.name, arguments: args }, undefined, request)) as McpCallResult);
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
      if (call.lost) {
        throw new ToolError('tool-unavailable', `Tool "${name}" is unavailable: the connection to MCP server "${server}" was lost during the call (${call.lost.message}).`, { cause: call.lost });
      }
      if ((error instanceof McpError && error.code === ErrorCode.ConnectionClosed) || (error instanceof Error && error.message === 'Not connected')) {
        throw new ToolError('tool-unavailable', `Tool "${name}" is unavailable: MCP server "${server}" closed the connection${error.message === 'Not connected' ? '' : ' during the call'}.`, { cause: error });
      }
      if (isUnreachable(error)) {
        throw new ToolError('tool-unavailable', `Tool "${name}" is unavailable: MCP server "${server}" cannot be reached (${describe(error)}).`, { cause: error });
      }
      throw error;
    } finally {
      call.end();
    }
    const converted = convertResult(result, options.images ?? 'guard');
    if (result.isError) throw new Error(converted.text || 'the server reported an error without a message');
    return converted.output;
  };

  const tool = defineJsonSchemaTool({
    name,
    description: info.description ?? info.title ?? info.name,
    parameters: info.inputSchema as Record<string, unknown>,
    execute,
    timeoutMs,
    ...(needsApproval !== undefined ? { needsApproval } : {}),
    ...(options.maxOutputChars !== undefined ? { maxOutputChars: options.maxOutputChars } : {}),
  });
  return Object.freeze({ ...tool, mcp: { server, tool: info.name } });
}

/** A transport failure that means no answer can come: the server is down or forgot the session. */
function isUnreachable(error: unknown): boolean {
  if (error instanceof StreamableHTTPError) return true;
  return error instanceof TypeError && /fetch failed|terminated/.test(error.message);
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return `${(error as Error).message ?? String(error)}${detail ? `: ${detail}` : ''}`;
}

/** One call the watch can fail. */
interface WatchedCall {
  readonly signal: AbortSignal;
  /** Set when the watch found the connection lost while the call was open. */
  readonly lost: Error | undefined;
  end(): void;
}

/**
 * Notices a connection that died under open calls. The SDK fails pending requests when the
 * transport closes (stdio: the process exits), but the streamable HTTP transport reports a
 * broken response stream only through `onerror` and then tries to resume it, so a call would
 * wait for its timeout. On a transport error while calls are open the watch pings the server
 * (one probe at a time): a ping that fails means nothing can answer, and the open calls end at
 * once as `tool-unavailable`; a ping that succeeds leaves them running (the stream may resume).
 */
class ConnectionWatch {
  private readonly open = new Set<{ controller: AbortController; lost?: Error }>();
  private probing = false;
  private readonly previous: Client['onerror'];
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly server: string,
    private readonly probeTimeoutMs = 5_000,
  ) {
    this.previous = client.onerror;
    client.onerror = (error) => {
      this.previous?.(error);
      if (!this.stopped) this.onTransportError(error);
    };
  }

  begin(outer: AbortSignal): WatchedCall {
    const entry: { controller: AbortController; lost?: Error } = { controller: new AbortController() };
    const forward = () => entry.controller.abort(outer.reason);
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
    this.open.add(entry);
    return {
      signal: entry.controller.signal,
      get lost() {
        return entry.lost;
      },
      end: () => {
        outer.removeEventListener('abort', forward);
        this.open.delete(entry);
      },
    };
  }

  stop(): void {
    this.stopped = true;
    this.client.onerror = this.previous;
  }

  private onTransportError(error: Error): void {
    if (this.open.size === 0 || this.probing) return;
    this.probing = true;
    const started = [...this.open];
    this.client
      .ping({ timeout: this.probeTimeoutMs })
      .then(
        () => undefined,
        (pingError: unknown) => {
          const lost = new Error(`${error.message}; a ping to "${this.server}" then failed: ${describe(pingError)}`, { cause: error });
          for (const entry of started) {
            if (!this.open.has(entry)) continue;
            entry.lost = lost;
            entry.controller.abort(lost);
          }
        },
      )
      .finally(() => {
        this.probing = false;
      });
  }
}

/** Tool listings through `descriptionGuards`: which tools were flagged, and by which verdict. */
function descriptionScreen(server: string, options: McpToolsOptions): (tools: McpToolInfo[]) => Promise<Map<McpToolInfo, Verdict>> {
  const empty: ResolvedGuard[] = [];
  const guards = resolveGuards(options.descriptionGuards, options.guardTimeoutMs ?? 10_000, 'descriptionGuards');
  // A description seen before (an unchanged tool after list_changed) is not classified again.
  const stage = withRunCache({ input: empty, output: empty, 'tool-call': empty, 'tool-result': guards }, new VerdictCache({ maxEntries: 1000 }))['tool-result'];
  // What was reported already, so a refresh reports only tools newly flagged (or changed).
  let reported = new Set<string>();
  return async (tools) => {
    const flagged = new Map<McpToolInfo, Verdict>();
    if (stage.length === 0 || tools.length === 0) return flagged;
    const { span, ctx } = startSpan('lookout.mcp.screen_tools', { 'lookout.mcp.server': server, 'lookout.mcp.tools': tools.length });
    await Promise.all(
      tools.map(async (info) => {
        const { decision } = await runStage(stage, { stage: 'tool-result', conversation: [], content: { text: describedText(info), images: [] }, tool: { name: info.name } }, { traceContext: ctx });
        if (decision.kind === 'pass') return;
        flagged.set(info, decision.verdict);
        span.addEvent('lookout.mcp.tool_dropped', { 'lookout.mcp.tool': info.name, 'lookout.guard.name': decision.verdict.guard, 'lookout.guard.categories': decision.verdict.categories });
      }),
    );
    span.setAttribute('lookout.mcp.tools_dropped', [...flagged.keys()].map((t) => t.name));
    endSpan(span);
    const now = new Set<string>();
    for (const [info, verdict] of flagged) {
      const key = `${info.name}\u0000${describedText(info)}`;
      now.add(key);
      if (!reported.has(key)) options.onToolFlagged?.({ server, tool: info.name, verdict });
    }
    reported = now;
    return flagged;
  };
}

/** Everything the server wrote about a tool that reaches the model: name, title, description and the schema's texts. */
function describedText(info: McpToolInfo): string {
  const lines = [info.name, info.title, info.annotations?.title, info.description].filter((t): t is string => typeof t === 'string' && t !== '');
  const walk = (node: unknown, key?: string): void => {
    if (typeof node === 'string') {
      if (key === undefined || TEXT_KEYWORDS.has(key)) lines.push(node);
    } else if (Array.isArray(node)) node.forEach((n) => walk(n, key === 'enum' || key === 'examples' ? undefined : key));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (key === 'properties' || key === 'patternProperties' || key === '$defs' || key === 'definitions') {
          lines.push(k); // a property name is text the model reads as well
          walk(v);
        } else walk(v, k);
      }
    }
  };
  walk(info.inputSchema);
  return lines.join('\n');
}

/** Schema keywords whose string values are prose or values the model reads. */
const TEXT_KEYWORDS = new Set(['description', 'title', 'default', 'const', 'examples', 'enum', '$comment']);
