import type { Verdict } from '@lookout/guards';
import type { ChatMessage } from '@lookout/runtime';
import { errorResult, type ToolResult, type ToolRunHooks } from '@lookout/tools';
import type { Context } from '@opentelemetry/api';
import { RunAborted } from '../errors.js';
import { endSpan, startSpan } from '../tracing/spans.js';
import { settleAll } from './concurrency.js';
import type { GuardStage } from './guard-stage.js';
import type { TurnScope } from './turn-scope.js';
import type { PendingCall, RunState, ToolAnswer } from './types.js';

/**
 * The tool calls of the current model step. They are independent, so they run concurrently (at
 * most maxParallelToolCalls at once); each goes through `ToolRunner.run` — validation, the
 * tool-call guards (a hook), the approval rule, a checkpoint before execution, execution — and
 * its result through the tool-result guards. Results enter events, the conversation and the
 * audit in call order whatever order they finish in. A call that needs approval pauses the run
 * once every other call of the step is done; calls after it keep their answers in the run state
 * until it is decided.
 */
export class ToolStep {
  /** Checkpoints are written one after another, each with the state as it is when written. */
  private checkpoints: Promise<void> = Promise.resolve();
  /** Verdicts that blocked a call at the tool-call stage, for the 'blocked' event. */
  private readonly blockedBy = new Map<PendingCall, Verdict>();

  constructor(
    private readonly scope: TurnScope,
    private readonly guards: GuardStage,
    /** The run state as plain JSON, as a checkpoint stores it. */
    private readonly snapshot: () => RunState,
  ) {}

  /** Handles the pending calls; returns the call the run now waits on for approval, if any. */
  async process(parent: Context): Promise<PendingCall | undefined> {
    const { state, run, settings } = this.scope;
    if (run.signal?.aborted) throw new RunAborted(run.signal.reason);
    const limit = settings.maxParallelToolCalls;
    // Every guard of this step sees the conversation as the model left it.
    const conversation = [...state.conversation];

    const admitting = state.pending.filter((p) => !p.answer && !p.guarded);
    const announcements = new Map<PendingCall, () => void>();
    await settleAll(admitting, limit, async (p) => {
      announcements.set(p, await this.admit(p, conversation, parent));
    });
    // Calls are announced in the order the model made them.
    for (const p of admitting) announcements.get(p)?.();

    const ready = state.pending.filter((p) => !p.answer && p.guarded && (!p.awaitingApproval || p.approval));
    await settleAll(ready, limit, async (p) => {
      await this.settle(p, conversation, parent);
      this.flushAnswers();
    });
    if (run.signal?.aborted) throw new RunAborted(run.signal.reason);
    this.flushAnswers();
    // What is left starts with a call awaiting a human decision.
    return state.pending[0];
  }

  /** Whether a tool may have had an effect in this turn (its execution started). */
  get anyExecuted(): boolean {
    const { state } = this.scope;
    return (
      state.pending.some((p) => p.execution) ||
      state.audit.some((e) => e.kind === 'tool-call' && (e.status === 'ok' || e.status === 'error'))
    );
  }

  /**
   * The turn failed: every call still pending gets its final answer so the stored conversation
   * pairs each tool call with a result. A result no tool-result guard has checked is not shown
   * to the model; a call never started says so.
   */
  abandon(): void {
    for (const p of this.scope.state.pending) {
      if (p.answer) continue;
      const { call } = p;
      if (p.result) {
        const r = p.result;
        p.answer = { content: `Tool "${call.name}" ran, but the turn failed before its result was checked; it is not shown.`, isError: r.isError, ...(r.code ? { code: r.code } : {}), flagged: false, status: r.isError ? 'error' : 'ok', latencyMs: r.latencyMs, arguments: p.args };
      } else if (p.execution) {
        p.answer = { content: `The call to tool "${call.name}" was interrupted; its outcome is unknown and it was not run again.`, isError: true, code: 'tool-outcome-unknown', flagged: false, status: 'error', latencyMs: 0, arguments: p.args };
      } else {
        p.answer = { content: `The call to tool "${call.name}" was not run: the turn failed first.`, isError: true, flagged: false, status: 'not-run', latencyMs: 0, arguments: p.args ?? null };
      }
    }
    this.flushAnswers();
  }

  /**
   * Validation outcome, tool-call guards and approval rule for one call. Returns the event that
   * announces it (sent later, in call order).
   */
  private async admit(p: PendingCall, conversation: ChatMessage[], parent: Context): Promise<() => void> {
    const { call } = p;
    const scope = this.scope;
    const step = scope.state.step - 1;
    const outcome = await scope.run.runner.run(p, this.hooks(p, conversation, parent), 'admitted');
    if (outcome.kind === 'invalid') {
      const { result } = outcome;
      p.answer = { content: result.content, isError: true, ...(result.code ? { code: result.code } : {}), flagged: false, status: 'invalid', latencyMs: result.latencyMs, arguments: call.arguments };
      return () => scope.emit({ type: 'tool-call', toolCallId: call.id, name: call.name, arguments: call.arguments, valid: false, step });
    }
    if (outcome.kind === 'blocked') {
      const notice = outcome.result.content;
      const verdict = this.blockedBy.get(p)!;
      p.answer = { content: notice, isError: true, code: 'tool-execution-failed', flagged: false, status: 'blocked', latencyMs: 0, arguments: null };
      return () => scope.emit({ type: 'blocked', stage: 'tool-call', verdict, replacement: notice, toolCallId: call.id });
    }
    return () => scope.emit({ type: 'tool-call', toolCallId: call.id, name: call.name, arguments: p.args, valid: true, step });
  }

  /** Executes an admitted call (or answers its rejection) and passes the result through the tool-result guards. */
  private async settle(p: PendingCall, conversation: ChatMessage[], parent: Context): Promise<void> {
    const { call } = p;
    const { run, settings } = this.scope;
    const { span, ctx } = startSpan('lookout.tool.call', { 'lookout.tool.name': call.name, 'lookout.tool.call_id': call.id }, parent);
    let outcome;
    try {
      outcome = await run.runner.run(p, this.hooks(p, conversation, ctx));
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
    if (outcome.kind === 'rejected') {
      endSpan(span);
      p.answer = { content: outcome.result.content, isError: true, code: 'tool-execution-failed', flagged: false, status: 'rejected', latencyMs: 0, arguments: p.args };
      return;
    }
    if (outcome.kind !== 'executed') {
      endSpan(span);
      return;
    }
    const { result } = outcome;
    span.setAttributes({ 'lookout.tool.latency_ms': result.latencyMs, 'lookout.tool.error': result.isError, 'lookout.tool.recovered': outcome.recovered });
    if (result.code) span.setAttribute('lookout.tool.error_code', result.code);
    endSpan(span);
    if (run.signal?.aborted) throw new RunAborted(run.signal.reason);

    let content = result.content;
    let flagged = false;
    const decision = await this.guards.check(
      'tool-result',
      { stage: 'tool-result', conversation, content: { text: result.content, images: result.images ?? [] }, tool: { name: call.name, arguments: p.args } },
      ctx,
      call.id,
    );
    if (decision.kind === 'block') {
      content = settings.toolResultNotice({ stage: 'tool-result', verdict: decision.verdict, tool: call.name });
      flagged = true;
      this.scope.emit({ type: 'blocked', stage: 'tool-result', verdict: decision.verdict, replacement: content, toolCallId: call.id });
    } else if (decision.kind === 'redact') {
      content = decision.text;
      flagged = true;
    }
    p.answer = {
      content,
      isError: result.isError,
      ...(result.code ? { code: result.code } : {}),
      flagged,
      status: result.isError ? 'error' : 'ok',
      latencyMs: result.latencyMs,
      arguments: p.args,
    };
  }

  private hooks(p: PendingCall, conversation: ChatMessage[], parent: Context): ToolRunHooks<unknown> {
    const { run, state } = this.scope;
    const record = run.checkpoint ? () => this.checkpoint() : undefined;
    return {
      context: run.context,
      signal: run.signal,
      // Stable across pause, resume and recovery: the run id survives them, the call id is the model's.
      idempotencyKey: `${state.runId}:${p.call.id}`,
      checkCall: (progress) => this.checkCall(p, progress.args, conversation, parent),
      ...(record ? { recordExecution: record, recordResult: record } : {}),
    };
  }

  private async checkCall(p: PendingCall, args: unknown, conversation: ChatMessage[], parent: Context): Promise<ToolResult | undefined> {
    const { call } = p;
    const decision = await this.guards.check(
      'tool-call',
      { stage: 'tool-call', conversation, content: { text: JSON.stringify(args ?? null), images: [] }, tool: { name: call.name, arguments: args } },
      parent,
      call.id,
    );
    if (decision.kind === 'pass') return undefined;
    // Arguments cannot be meaningfully redacted: a redact verdict on a tool call blocks it.
    // Flagged arguments leave no trace: not in events, the audit or the stored conversation.
    this.forgetArguments(call.id);
    p.args = null;
    this.blockedBy.set(p, decision.verdict);
    return errorResult(call.id, call.name, 'tool-execution-failed', `The call to tool "${call.name}" was blocked by guard "${decision.verdict.guard}" and was not executed.`);
  }

  private checkpoint(): Promise<void> {
    const write = this.scope.run.checkpoint!;
    this.checkpoints = this.checkpoints.then(() => write(this.snapshot()));
    return this.checkpoints;
  }

  private forgetArguments(toolCallId: string): void {
    for (const message of this.scope.state.conversation) {
      if (message.role !== 'assistant' || !message.toolCalls) continue;
      message.toolCalls = message.toolCalls.map((c) => (c.id === toolCallId ? { ...c, arguments: null } : c));
    }
  }

  /** Hands over the answered calls at the head of pending, in call order: event, tool message, audit. */
  private flushAnswers(): void {
    const { state } = this.scope;
    while (state.pending[0]?.answer) {
      const { call, answer } = state.pending.shift() as PendingCall & { answer: ToolAnswer };
      this.scope.emit({
        type: 'tool-result',
        toolCallId: call.id,
        name: call.name,
        content: answer.content,
        isError: answer.isError,
        ...(answer.code ? { code: answer.code } : {}),
        flagged: answer.flagged,
      });
      state.conversation.push({ role: 'tool', toolCallId: call.id, name: call.name, content: answer.content });
      this.scope.audit({
        kind: 'tool-call',
        time: new Date().toISOString(),
        runId: state.runId,
        toolCallId: call.id,
        tool: call.name,
        arguments: answer.arguments,
        status: answer.status,
        ...(answer.code && answer.status !== 'ok' ? { code: answer.code } : {}),
        latencyMs: answer.latencyMs,
        ...(answer.flagged ? { flagged: true } : {}),
      });
    }
  }
}
