import { ToolDefinitionError, ToolError, ToolValidationBudgetExceeded } from './errors.js';
import { formatIssues } from './issues.js';
import { errorResult, isToolOutputWithImages, type ToolResult } from './result.js';
import type { ToolCallProgress, ToolRunHooks, ToolRunOutcome } from './call-progress.js';
import type { AnyTool, ArgumentCheck, ToolCallRequest, ToolContext, ToolSpec } from './types.js';

export interface ToolRunnerOptions {
  /** Invalid calls (bad arguments, unknown tool, unparseable call) answered before the run fails. Default 2. */
  retryBudget?: number;
  /** Invalid calls already made in this run (when a paused run is resumed). */
  invalidCalls?: number;
  /** Used for tools without timeoutMs. Default 30 000 ms. */
  defaultTimeoutMs?: number;
  /** Used for tools without maxOutputChars. Default 20 000. */
  defaultMaxOutputChars?: number;
}

/** A call whose tool exists and whose arguments passed the input schema. */
export interface PreparedCall {
  ok: true;
  tool: AnyTool;
  call: ToolCallRequest;
  args: unknown;
}

/** A call the model has to retry; `result` tells it why. */
export interface RejectedCall {
  ok: false;
  call: ToolCallRequest;
  result: ToolResult;
}

export interface ExecuteOptions<C> {
  context: C;
  /** The run's signal; aborting it aborts the tool too. */
  signal?: AbortSignal;
  /** ctx.idempotencyKey for the tool. Default: the call id. */
  idempotencyKey?: string;
}

/**
 * Validates and executes tool calls for one run. Model mistakes become tool results the model
 * can act on, within a retry budget; tool failures become tool results; nothing throws except
 * the spent budget (ToolValidationBudgetExceeded).
 */
export class ToolRunner {
  readonly retryBudget: number;
  private readonly tools = new Map<string, AnyTool>();
  private invalid: number;
  private readonly defaultTimeoutMs: number;
  private readonly defaultMaxOutputChars: number;

  constructor(tools: ReadonlyArray<AnyTool>, options: ToolRunnerOptions = {}) {
    for (const tool of tools) {
      if (this.tools.has(tool.name)) {
        throw new ToolDefinitionError('tool-duplicate-name', `Two tools are named "${tool.name}"; tool names must be unique.`);
      }
      this.tools.set(tool.name, tool);
    }
    this.retryBudget = options.retryBudget ?? 2;
    this.invalid = options.invalidCalls ?? 0;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.defaultMaxOutputChars = options.defaultMaxOutputChars ?? 20_000;
  }

  get specs(): ToolSpec[] {
    return [...this.tools.values()].map((t) => t.spec);
  }

  /** Invalid calls made so far in this run. */
  get invalidCalls(): number {
    return this.invalid;
  }

  get(name: string): AnyTool | undefined {
    return this.tools.get(name);
  }

  /** Looks the tool up and validates the arguments against its input schema. */
  prepare(call: ToolCallRequest): PreparedCall | RejectedCall {
    const tool = this.tools.get(call.name);
    if (!tool) {
      const known = [...this.tools.keys()].join(', ') || '(none)';
      return this.reject(call, 'tool-unknown', `Unknown tool "${call.name}". Available tools: ${known}.`);
    }
    let raw = call.arguments;
    if (typeof raw === 'string') {
      try {
        raw = raw.trim() === '' ? {} : JSON.parse(raw);
      } catch (error) {
        return this.reject(
          call,
          'tool-malformed-arguments',
          `Arguments for tool "${call.name}" are not valid JSON (${(error as Error).message}). Send a JSON object.`,
        );
      }
    }
    const parsed = checkArguments(tool, raw ?? {});
    if (!parsed.success) {
      const lines = parsed.issues.map((l) => `- ${l}`);
      return this.reject(
        call,
        'tool-invalid-arguments',
        `Invalid arguments for tool "${call.name}":\n${lines.join('\n')}\nCall the tool again with arguments that match its schema.`,
      );
    }
    return { ok: true, tool, call, args: parsed.data };
  }

  /** The model wrote something that looked like a tool call but could not be parsed. */
  rejectMalformed(id: string, raw: string, message: string): RejectedCall {
    const call: ToolCallRequest = { id, name: 'unparsed_tool_call', arguments: raw };
    return this.reject(
      call,
      'tool-malformed-arguments',
      `Your tool call could not be parsed (${message}). Write it again as a single JSON tool call.`,
    );
  }

  /** Whether the call must wait for a human; a throwing rule counts as yes. */
  async needsApproval<C>(prepared: PreparedCall, options: ExecuteOptions<C>): Promise<boolean> {
    const rule = prepared.tool.needsApproval;
    if (rule === undefined || rule === false) return false;
    if (rule === true) return true;
    const ctx: ToolContext<C> = {
      signal: options.signal ?? new AbortController().signal,
      context: options.context,
      toolCallId: prepared.call.id,
      idempotencyKey: options.idempotencyKey ?? prepared.call.id,
    };
    try {
      return Boolean(await rule(prepared.args, ctx));
    } catch {
      // An approval rule that fails cannot vouch for the call: ask a human.
      return true;
    }
  }

  /**
   * Takes one call as far as it can go from where `progress` says it stands: validates it, runs
   * the call check and the approval rule, stops for a human decision, records that execution
   * starts, executes, records the result. `progress` is updated in place at every phase, so a
   * caller that stores it can continue after a pause or a crash. A call whose execution was
   * recorded is never executed a second time (see `recover` on the tool).
   */
  async run<C>(progress: ToolCallProgress, hooks: ToolRunHooks<C>, until: 'admitted' | 'settled' = 'settled'): Promise<ToolRunOutcome> {
    const { call } = progress;
    if (progress.args === undefined && !progress.rejection) {
      const prepared = this.prepare(call);
      if (prepared.ok) progress.args = prepared.args;
      else progress.rejection = prepared.result;
    }
    if (progress.rejection) return { kind: 'invalid', result: progress.rejection };
    const tool = this.tools.get(call.name);
    if (!tool) throw new ToolError('tool-unknown', `Tool "${call.name}" is not registered; the call cannot continue.`);
    const prepared: PreparedCall = { ok: true, tool, call, args: progress.args };
    const options = { context: hooks.context, signal: hooks.signal, idempotencyKey: hooks.idempotencyKey };

    if (!progress.guarded) {
      const refusal = await hooks.checkCall?.(progress);
      if (refusal) return { kind: 'blocked', result: refusal };
      progress.guarded = true;
      if (await this.needsApproval(prepared, options)) progress.awaitingApproval = true;
    }
    if (until === 'admitted') return { kind: 'admitted' };
    if (progress.awaitingApproval && !progress.approval) return { kind: 'awaiting-approval' };
    if (progress.approval === 'rejected') {
      const reason = progress.rejectReason ? `: ${progress.rejectReason}` : '';
      return { kind: 'rejected', result: errorResult(call.id, call.name, 'tool-execution-failed', `The user rejected the call to tool "${call.name}"${reason}.`) };
    }
    if (progress.result) return { kind: 'executed', result: progress.result, recovered: true };

    if (progress.execution) {
      // Started before an interruption, result never recorded: the effect may have happened.
      const found = await this.recover(prepared, options);
      if (found) {
        progress.result = found;
        await hooks.recordResult?.(progress);
        return { kind: 'executed', result: found, recovered: true };
      }
    } else {
      progress.execution = { idempotencyKey: hooks.idempotencyKey, startedAt: new Date().toISOString() };
      try {
        await hooks.recordExecution?.(progress);
      } catch (error) {
        // Not recorded, so not run: the record and the effect never disagree.
        delete progress.execution;
        throw error;
      }
    }
    progress.result = await this.execute(prepared, options);
    await hooks.recordResult?.(progress);
    return { kind: 'executed', result: progress.result, recovered: false };
  }

  /**
   * The result of a call that started but was not recorded as finished: from the tool's
   * `recover` when it finds the effect, `undefined` when it proves the effect absent (the call
   * may run), and `tool-outcome-unknown` when the tool cannot tell.
   */
  private async recover<C>(prepared: PreparedCall, options: ExecuteOptions<C>): Promise<ToolResult | undefined> {
    const { tool, call } = prepared;
    const unknown = (why: string) =>
      errorResult(call.id, call.name, 'tool-outcome-unknown', `The call to tool "${call.name}" was interrupted ${why}; it was not run again. Tell the user its outcome is being checked.`);
    if (!tool.recover) return unknown('before its result was recorded');
    const ctx: ToolContext<C> = {
      signal: options.signal ?? new AbortController().signal,
      context: options.context,
      toolCallId: call.id,
      idempotencyKey: options.idempotencyKey ?? call.id,
    };
    const started = performance.now();
    let found: { output: unknown } | null;
    try {
      found = await tool.recover(prepared.args, ctx);
    } catch {
      return unknown('and looking up its effect failed');
    }
    return found ? this.finish(prepared, found.output, performance.now() - started) : undefined;
  }

  /** Runs the tool with its timeout; every failure becomes an error result. */
  async execute<C>(prepared: PreparedCall, options: ExecuteOptions<C>): Promise<ToolResult> {
    const { tool, call } = prepared;
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const timeoutMs = tool.timeoutMs ?? this.defaultTimeoutMs;
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onOuterAbort();
    else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new ToolError('tool-timeout', `Tool "${call.name}" timed out after ${timeoutMs} ms.`));
    }, timeoutMs);

    // A tool that ignores its signal must not hold the run: race it against the abort.
    const aborted = new Promise<never>((_, reject) => {
      if (controller.signal.aborted) reject(controller.signal.reason);
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    let output: unknown;
    try {
      const ctx: ToolContext<C> = { signal: controller.signal, context: options.context, toolCallId: call.id, idempotencyKey: options.idempotencyKey ?? call.id };
      output = await Promise.race([Promise.resolve().then(() => tool.execute(prepared.args, ctx)), aborted]);
    } catch (error) {
      if (timedOut) {
        return errorResult(call.id, call.name, 'tool-timeout', `Tool "${call.name}" timed out after ${timeoutMs} ms.`, elapsed());
      }
      if (options.signal?.aborted) {
        return errorResult(call.id, call.name, 'tool-aborted', `Tool "${call.name}" was cancelled.`, elapsed());
      }
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof ToolError && error.code === 'tool-unavailable') {
        return errorResult(call.id, call.name, 'tool-unavailable', message, elapsed());
      }
      return errorResult(call.id, call.name, 'tool-execution-failed', `Tool "${call.name}" failed: ${message}`, elapsed());
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
    return this.finish(prepared, output, elapsed());
  }

  private finish(prepared: PreparedCall, output: unknown, latencyMs: number): ToolResult {
    const { tool, call } = prepared;
    let value = output;
    let images: string[] | undefined;
    if (isToolOutputWithImages(output)) {
      value = output.value;
      images = output.images.length > 0 ? [...output.images] : undefined;
    }
    if (tool.output) {
      const parsed = tool.output.safeParse(value);
      if (!parsed.success) {
        const lines = formatIssues(parsed.error.issues).map((l) => `- ${l}`);
        return errorResult(
          call.id,
          call.name,
          'tool-invalid-output',
          `Tool "${call.name}" returned output that does not match its output schema:\n${lines.join('\n')}`,
          latencyMs,
        );
      }
      value = parsed.data;
    }
    let content: string;
    try {
      content = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
    } catch (error) {
      return errorResult(
        call.id,
        call.name,
        'tool-unserialisable-output',
        `Tool "${call.name}" returned output that cannot be written as JSON (${(error as Error).message}).`,
        latencyMs,
      );
    }
    const limit = tool.maxOutputChars ?? this.defaultMaxOutputChars;
    if (content.length > limit) {
      return errorResult(
        call.id,
        call.name,
        'tool-output-too-large',
        `Tool "${call.name}" returned ${content.length} characters, more than its limit of ${limit}; the output was withheld.`,
        latencyMs,
      );
    }
    return { toolCallId: call.id, name: call.name, content, isError: false, output: value, latencyMs, ...(images ? { images } : {}) };
  }

  private reject(call: ToolCallRequest, code: ToolResult['code'] & string, message: string): RejectedCall {
    this.invalid += 1;
    if (this.invalid > this.retryBudget) throw new ToolValidationBudgetExceeded(this.retryBudget, message);
    return { ok: false, call, result: errorResult(call.id, call.name, code, message) };
  }
}

/** Validates arguments with the tool's JSON Schema check, or its zod input schema. */
function checkArguments(tool: AnyTool, args: unknown): ArgumentCheck {
  if (tool.checkArguments) return tool.checkArguments(args);
  const parsed = tool.input.safeParse(args);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, issues: formatIssues(parsed.error.issues) };
}
