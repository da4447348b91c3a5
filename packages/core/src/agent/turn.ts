import { VerdictCache, type GuardSubject, type Stage, type Verdict } from '@lookout/guards';
import type { ChatMessage, LanguageModel, ModelRequest, SamplingSettings, ToolCall } from '@lookout/runtime';
import type { PreparedCall, ToolRunner } from '@lookout/tools';
import type { Context } from '@opentelemetry/api';
import { MaxStepsExceeded, ModelStepFailed, RunAborted } from '../errors.js';
import type { ResolvedGuard } from '../guarding/config.js';
import { publicVerdict } from '../guarding/public-verdict.js';
import { withRunCache } from '../guarding/run-cache.js';
import { runStage, type StageDecision } from '../guarding/run-stage.js';
import type { AuditEntry, SessionStore, TurnRecord, TurnStatus } from '../sessions/types.js';
import { toStorableMessages } from '../sessions/storable.js';
import { endSpan, startSpan } from '../tracing/spans.js';
import { settleAll } from './concurrency.js';
import type { AgentEvent } from './events.js';
import { OutputModerator } from './output-moderator.js';
import type { AgentResult, BlockInfo, PendingCall, RunState, ToolAnswer } from './types.js';

/** Everything a turn needs from its agent, already resolved to defaults. */
export interface TurnSettings {
  model: LanguageModel;
  guards: Record<Stage, ResolvedGuard[]>;
  /** Size of each run's verdict cache; 0 turns it off. */
  verdictCacheEntries: number;
  system?: string;
  maxSteps: number;
  outputChunkChars: number;
  outputOverlapChars: number;
  outputHoldbackChars: number;
  /** Tool calls of one model step run at once, at most this many. */
  maxParallelToolCalls: number;
  sampling?: SamplingSettings;
  inputGuardMode: 'parallel' | 'sequential';
  refusal: (info: BlockInfo) => string;
  toolResultNotice: (info: BlockInfo & { tool: string }) => string;
  sessions: SessionStore;
}

export interface TurnRun {
  runner: ToolRunner;
  context: unknown;
  signal?: AbortSignal;
  /** True when continuing a paused run: no turn-start input check, pending calls first. */
  resumed: boolean;
  emit: (event: AgentEvent) => void;
}

type StepOutcome = { kind: 'blocked'; info: BlockInfo } | { kind: 'restart' } | { kind: 'answered' } | { kind: 'tools' };

/** Marks an abort the loop itself caused, so it is not mistaken for a model failure. */
class LoopAbort extends Error {}

/**
 * One turn of the guarded loop: model steps, tool calls and guard checks until the model
 * answers, a guard blocks, a tool needs approval, or the run fails.
 */
export class Turn {
  private readonly state: RunState;
  /** The stage guards, behind this run's verdict cache when it is on. */
  private readonly guards: Record<Stage, ResolvedGuard[]>;

  constructor(
    private readonly settings: TurnSettings,
    private readonly run: TurnRun,
    state: RunState,
  ) {
    this.state = state;
    this.guards = settings.verdictCacheEntries > 0 ? withRunCache(settings.guards, new VerdictCache({ maxEntries: settings.verdictCacheEntries })) : settings.guards;
  }

  async execute(): Promise<AgentResult> {
    const { span, ctx } = startSpan('lookout.agent.turn', {
      'lookout.run_id': this.state.runId,
      'lookout.session_id': this.state.sessionId,
      'lookout.resumed': this.run.resumed,
    });
    try {
      this.emit({ type: 'turn-start', turnId: this.state.turnId, sessionId: this.state.sessionId, resumed: this.run.resumed });
      let checkInput = !this.run.resumed;
      while (true) {
        if (this.state.pending.length > 0) {
          const paused = await this.processPending(ctx);
          if (paused) {
            endSpan(span);
            return paused;
          }
        }
        if (this.state.step >= this.settings.maxSteps) throw new MaxStepsExceeded(this.settings.maxSteps);
        const outcome = await this.modelStep(checkInput, ctx);
        // A restart follows a redacted input; the redacted text is not checked again.
        checkInput = false;
        if (outcome.kind === 'restart') continue;
        if (outcome.kind === 'blocked') {
          const result = await this.finishBlocked(outcome.info);
          endSpan(span);
          return result;
        }
        if (outcome.kind === 'answered') {
          const result = await this.finish('completed');
          endSpan(span);
          return result;
        }
      }
    } catch (error) {
      endSpan(span, error);
      const err = error instanceof Error ? error : new Error(String(error));
      this.emit({ type: 'error', error: err });
      // The audit of a failed turn is kept; its messages are not (the turn did not complete).
      await this.store('error', []).catch(() => {});
      throw err;
    }
  }

  // ---------------------------------------------------------------- model step

  private async modelStep(checkInput: boolean, parent: Context): Promise<StepOutcome> {
    const { settings, state } = this;
    const controller = new AbortController();
    const runSignal = this.run.signal;
    const onRunAbort = () => controller.abort(runSignal?.reason);
    if (runSignal?.aborted) throw new RunAborted(runSignal.reason);
    runSignal?.addEventListener('abort', onRunAbort, { once: true });

    let gate: Promise<StageDecision> | undefined;
    if (checkInput && settings.guards.input.length > 0) {
      const check = this.checkStage('input', this.inputSubject(), parent);
      if (this.waitForInputGuards) {
        const decision = await check;
        if (decision.kind !== 'pass') {
          runSignal?.removeEventListener('abort', onRunAbort);
          return this.onInputDecision(decision);
        }
      } else {
        // The model starts now; an unsafe verdict aborts it mid-prefill or mid-stream.
        gate = check.then((decision) => {
          if (decision.kind !== 'pass') controller.abort(new LoopAbort('input guard'));
          return decision;
        });
        gate.catch(() => {}); // awaited below; a run abort may leave it unawaited

      }
    }
    let gateDecision: StageDecision | undefined = gate ? undefined : { kind: 'pass' };
    const inputPassed = async () => {
      gateDecision ??= await gate!;
      return gateDecision.kind === 'pass';
    };

    const stepIndex = state.step;
    state.step += 1;
    const { span } = startSpan('lookout.model.step', { 'lookout.model.id': settings.model.id, 'lookout.step': stepIndex }, parent);
    const started = performance.now();
    let firstTokenMs: number | undefined;

    const moderator = new OutputModerator({
      chunkChars: settings.outputChunkChars,
      overlapChars: settings.outputOverlapChars,
      holdbackChars: settings.outputHoldbackChars,
      guarded: settings.guards.output.length > 0,
      check: (text) =>
        this.checkStage('output', { stage: 'output', conversation: [...state.conversation], content: { text, images: [] } }, parent),
      release: (text) => {
        state.releasedText += text;
        this.emit({ type: 'text-delta', text, step: stepIndex });
      },
    });
    const calls: ToolCall[] = [];
    const malformed: Array<{ raw: string; message: string }> = [];
    let failure: unknown;

    try {
      const request: ModelRequest = {
        messages: this.requestMessages(),
        ...(this.run.runner.specs.length ? { tools: this.run.runner.specs } : {}),
        ...(settings.sampling ? { sampling: settings.sampling } : {}),
      };
      for await (const event of settings.model.stream(request, { signal: controller.signal })) {
        if (controller.signal.aborted) break;
        if (event.type === 'text-delta') {
          firstTokenMs ??= performance.now() - started;
          moderator.push(event.text);
          if (moderator.due) {
            if (!(await inputPassed())) break;
            await moderator.checkpoint(false);
            if (moderator.blockedBy) {
              controller.abort(new LoopAbort('output guard'));
              break;
            }
          }
        } else if (event.type === 'tool-call') {
          firstTokenMs ??= performance.now() - started;
          calls.push(event.call);
        } else if (event.type === 'tool-call-error') {
          malformed.push({ raw: event.raw, message: event.message });
        } else if (event.type === 'finish') {
          state.usage.inputTokens += event.usage.inputTokens;
          state.usage.outputTokens += event.usage.outputTokens;
        }
      }
    } catch (error) {
      const ours = controller.signal.aborted && controller.signal.reason instanceof LoopAbort;
      if (!ours) failure = error;
    } finally {
      runSignal?.removeEventListener('abort', onRunAbort);
      span.setAttributes({
        'lookout.model.input_tokens': state.usage.inputTokens,
        'lookout.model.output_tokens': state.usage.outputTokens,
        'lookout.model.duration_ms': performance.now() - started,
      });
      if (firstTokenMs !== undefined) span.setAttribute('lookout.model.time_to_first_token_ms', firstTokenMs);
      endSpan(span, failure);
    }

    if (runSignal?.aborted) throw new RunAborted(runSignal.reason);
    // The input verdict outranks everything the model did meanwhile, failures included.
    if (!(await inputPassed())) {
      state.step = stepIndex;
      return this.onInputDecision(gateDecision!);
    }
    if (failure !== undefined) throw new ModelStepFailed(settings.model.id, failure);

    await moderator.checkpoint(true);
    if (moderator.blockedBy) return { kind: 'blocked', info: { stage: 'output', verdict: moderator.blockedBy } };

    const toolCalls = [
      ...calls,
      ...malformed.map((m, i): ToolCall => ({ id: `unparsed_${stepIndex}_${i}`, name: 'unparsed_tool_call', arguments: m.raw })),
    ];
    state.conversation.push({
      role: 'assistant',
      content: moderator.released,
      ...(toolCalls.length ? { toolCalls } : {}),
    });
    if (toolCalls.length === 0) return { kind: 'answered' };

    // Validation happens here, after the input gate: the budget error ends the run.
    const pending: PendingCall[] = calls.map((call) => {
      const prepared = this.run.runner.prepare(call);
      return prepared.ok ? { call, args: prepared.args } : { call, rejection: prepared.result };
    });
    malformed.forEach((m, i) => {
      const rejected = this.run.runner.rejectMalformed(`unparsed_${stepIndex}_${i}`, m.raw, m.message);
      pending.push({ call: rejected.call as ToolCall, rejection: rejected.result });
    });
    state.invalidToolCalls = this.run.runner.invalidCalls;
    state.pending = pending;
    return { kind: 'tools' };
  }

  /** Blocked input ends the turn; redacted input replaces the user's text and restarts the step. */
  private onInputDecision(decision: StageDecision): StepOutcome {
    if (decision.kind === 'block') return { kind: 'blocked', info: { stage: 'input', verdict: decision.verdict } };
    if (decision.kind === 'redact') {
      const index = this.state.turnStart;
      const message = this.state.conversation[index];
      if (message?.role === 'user') {
        const images = typeof message.content === 'string' ? [] : message.content.filter((p) => p.type === 'image');
        this.state.conversation[index] = {
          role: 'user',
          content: images.length ? [{ type: 'text', text: decision.text }, ...images] : decision.text,
        };
      }
      return { kind: 'restart' };
    }
    return { kind: 'answered' };
  }

  private inputSubject(): GuardSubject {
    const message = this.state.conversation[this.state.turnStart];
    const text: string[] = [];
    const images: GuardSubject['content']['images'] = [];
    if (message?.role === 'user') {
      if (typeof message.content === 'string') text.push(message.content);
      else
        for (const part of message.content) {
          if (part.type === 'text') text.push(part.text);
          else images.push(part.image);
        }
    }
    return {
      stage: 'input',
      conversation: this.state.conversation.slice(0, this.state.turnStart),
      content: { text: text.join('\n'), images },
    };
  }

  private requestMessages(): ChatMessage[] {
    const system: ChatMessage[] = this.settings.system ? [{ role: 'system', content: this.settings.system }] : [];
    return [...system, ...this.state.conversation];
  }

  /**
   * Input guards run before the model starts in sequential mode, and also whenever one of them
   * may redact: in parallel the model's first request would carry the text before redaction.
   */
  private get waitForInputGuards(): boolean {
    return this.settings.inputGuardMode === 'sequential' || this.settings.guards.input.some((g) => g.action === 'redact');
  }

  // ---------------------------------------------------------------- tool calls

  /**
   * Handles the current step's calls. They are independent, so they run concurrently (at most
   * maxParallelToolCalls at once): each is validated, passes the tool-call guards and the
   * approval rule, runs, and its result passes the tool-result guards. Results enter events, the
   * conversation and the audit in call order whatever order they finish in. A call that needs
   * approval pauses the run once every other call of the step is done; calls after it keep their
   * answers in the run state until it is decided. Returns a result when the run pauses.
   */
  private async processPending(parent: Context): Promise<AgentResult | undefined> {
    const { state, run } = this;
    if (run.signal?.aborted) throw new RunAborted(run.signal.reason);
    const limit = this.settings.maxParallelToolCalls;
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
      await this.runCall(p, conversation, parent);
      this.flushAnswers();
    });
    if (run.signal?.aborted) throw new RunAborted(run.signal.reason);
    this.flushAnswers();
    // What is left starts with a call awaiting a human decision.
    return state.pending.length > 0 ? this.pause(state.pending[0]) : undefined;
  }

  /**
   * Validation outcome, tool-call guards and approval rule for one call. Returns the event that
   * announces it (sent later, in call order).
   */
  private async admit(p: PendingCall, conversation: ChatMessage[], parent: Context): Promise<() => void> {
    const { call } = p;
    const step = this.state.step - 1;
    if (p.rejection) {
      const { rejection } = p;
      p.answer = { content: rejection.content, isError: true, ...(rejection.code ? { code: rejection.code } : {}), flagged: false, status: 'invalid', latencyMs: rejection.latencyMs, arguments: call.arguments };
      return () => this.emit({ type: 'tool-call', toolCallId: call.id, name: call.name, arguments: call.arguments, valid: false, step });
    }
    const decision = await this.checkStage(
      'tool-call',
      {
        stage: 'tool-call',
        conversation,
        content: { text: JSON.stringify(p.args ?? null), images: [] },
        tool: { name: call.name, arguments: p.args },
      },
      parent,
      call.id,
    );
    if (decision.kind !== 'pass') {
      // Arguments cannot be meaningfully redacted: a redact verdict on a tool call blocks it.
      const notice = `The call to tool "${call.name}" was blocked by guard "${decision.verdict.guard}" and was not executed.`;
      // Flagged arguments leave no trace: not in events, the audit or the stored conversation.
      this.forgetArguments(call.id);
      p.args = null;
      p.answer = { content: notice, isError: true, code: 'tool-execution-failed', flagged: false, status: 'blocked', latencyMs: 0, arguments: null };
      return () => this.emit({ type: 'blocked', stage: 'tool-call', verdict: decision.verdict, replacement: notice, toolCallId: call.id });
    }
    p.guarded = true;
    const prepared: PreparedCall = { ok: true, tool: this.run.runner.get(call.name)!, call, args: p.args };
    if (await this.run.runner.needsApproval(prepared, { context: this.run.context, signal: this.run.signal })) p.awaitingApproval = true;
    return () => this.emit({ type: 'tool-call', toolCallId: call.id, name: call.name, arguments: p.args, valid: true, step });
  }

  /** Executes an admitted call (or answers its rejection) and passes the result through the tool-result guards. */
  private async runCall(p: PendingCall, conversation: ChatMessage[], parent: Context): Promise<void> {
    const { call } = p;
    const { run } = this;
    if (p.approval === 'rejected') {
      const notice = `The user rejected the call to tool "${call.name}"${p.rejectReason ? `: ${p.rejectReason}` : ''}.`;
      p.answer = { content: notice, isError: true, code: 'tool-execution-failed', flagged: false, status: 'rejected', latencyMs: 0, arguments: p.args };
      return;
    }
    const prepared: PreparedCall = { ok: true, tool: run.runner.get(call.name)!, call, args: p.args };
    const { span, ctx } = startSpan('lookout.tool.call', { 'lookout.tool.name': call.name, 'lookout.tool.call_id': call.id }, parent);
    const result = await run.runner.execute(prepared, { context: run.context, signal: run.signal });
    span.setAttributes({ 'lookout.tool.latency_ms': result.latencyMs, 'lookout.tool.error': result.isError });
    if (result.code) span.setAttribute('lookout.tool.error_code', result.code);
    endSpan(span);
    if (run.signal?.aborted) throw new RunAborted(run.signal.reason);

    let content = result.content;
    let flagged = false;
    const decision = await this.checkStage(
      'tool-result',
      {
        stage: 'tool-result',
        conversation,
        content: { text: result.content, images: [] },
        tool: { name: call.name, arguments: p.args },
      },
      ctx,
      call.id,
    );
    if (decision.kind === 'block') {
      content = this.settings.toolResultNotice({ stage: 'tool-result', verdict: decision.verdict, tool: call.name });
      flagged = true;
      this.emit({ type: 'blocked', stage: 'tool-result', verdict: decision.verdict, replacement: content, toolCallId: call.id });
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

  private forgetArguments(toolCallId: string): void {
    for (const message of this.state.conversation) {
      if (message.role !== 'assistant' || !message.toolCalls) continue;
      message.toolCalls = message.toolCalls.map((c) => (c.id === toolCallId ? { ...c, arguments: null } : c));
    }
  }

  /** Hands over the answered calls at the head of pending, in call order: event, tool message, audit. */
  private flushAnswers(): void {
    const { state } = this;
    while (state.pending[0]?.answer) {
      const { call, answer } = state.pending.shift() as PendingCall & { answer: ToolAnswer };
      this.emit({
        type: 'tool-result',
        toolCallId: call.id,
        name: call.name,
        content: answer.content,
        isError: answer.isError,
        ...(answer.code ? { code: answer.code } : {}),
        flagged: answer.flagged,
      });
      state.conversation.push({ role: 'tool', toolCallId: call.id, name: call.name, content: answer.content });
      this.audit({
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

  private pause(p: PendingCall): AgentResult {
    const state = this.snapshot();
    const pendingApproval = { toolCallId: p.call.id, name: p.call.name, arguments: p.args };
    this.emit({ type: 'approval-requested', ...pendingApproval, state });
    const result: AgentResult = {
      ...this.resultBase(),
      status: 'awaiting-approval',
      text: '',
      pendingApproval,
      state,
    };
    this.emit({ type: 'turn-end', result });
    return result;
  }

  // ---------------------------------------------------------------- guards

  private async checkStage(stage: Stage, subject: GuardSubject, parent: Context, toolCallId?: string): Promise<StageDecision> {
    const outcome = await runStage(this.guards[stage], subject, {
      signal: this.run.signal,
      traceContext: parent,
      onVerdict: ({ verdict: raw, action }) => {
        const verdict = publicVerdict(stage, raw);
        this.emit({
          type: 'guard-verdict',
          stage,
          action,
          guard: verdict.guard,
          safe: verdict.safe,
          categories: verdict.categories,
          ...(verdict.score !== undefined ? { score: verdict.score } : {}),
          latencyMs: verdict.latencyMs,
          ...(verdict.failure ? { failure: verdict.failure } : {}),
          verdict,
          ...(toolCallId ? { toolCallId } : {}),
        });
        this.audit({
          kind: 'verdict',
          time: new Date().toISOString(),
          runId: this.state.runId,
          stage,
          guard: verdict.guard,
          safe: verdict.safe,
          categories: verdict.categories,
          ...(verdict.score !== undefined ? { score: verdict.score } : {}),
          latencyMs: verdict.latencyMs,
          action,
          ...(verdict.failure ? { failure: verdict.failure, ...(verdict.reason ? { reason: verdict.reason } : {}) } : {}),
          ...(toolCallId ? { toolCallId } : {}),
        });
      },
    });
    // Guards aborted with the run answer fail-closed; that is a cancellation, not a verdict.
    if (this.run.signal?.aborted) throw new RunAborted(this.run.signal.reason);
    const { decision } = outcome;
    return decision.kind === 'pass' ? decision : { ...decision, verdict: publicVerdict(stage, decision.verdict) };
  }

  // ---------------------------------------------------------------- endings

  private async finishBlocked(info: BlockInfo): Promise<AgentResult> {
    const refusal = this.settings.refusal(info);
    this.emit({ type: 'blocked', stage: info.stage, verdict: info.verdict, replacement: refusal });
    // Blocked input is not kept in the conversation; blocked output is replaced by the refusal.
    if (info.stage === 'input') this.state.conversation.length = this.state.turnStart;
    else this.state.conversation.push({ role: 'assistant', content: refusal });
    const messages = this.state.conversation.slice(this.state.turnStart);
    await this.store('blocked', messages);
    const result: AgentResult = { ...this.resultBase(), status: 'blocked', text: refusal, blocked: info };
    this.emit({ type: 'turn-end', result });
    return result;
  }

  private async finish(status: 'completed'): Promise<AgentResult> {
    const messages = this.state.conversation.slice(this.state.turnStart);
    await this.store(status, messages);
    const last = messages[messages.length - 1];
    const result: AgentResult = { ...this.resultBase(), status, text: last?.role === 'assistant' ? last.content : '' };
    this.emit({ type: 'turn-end', result });
    return result;
  }

  private resultBase(): Omit<AgentResult, 'status' | 'text'> {
    const { state } = this;
    return {
      runId: state.runId,
      turnId: state.turnId,
      sessionId: state.sessionId,
      messages: toStorableMessages(state.conversation.slice(state.turnStart)),
      steps: state.step,
      usage: { ...state.usage },
      audit: [...state.audit],
    };
  }

  private async store(status: TurnStatus, messages: ChatMessage[]): Promise<void> {
    const record: TurnRecord = {
      turnId: this.state.turnId,
      runId: this.state.runId,
      startedAt: this.state.startedAt,
      endedAt: new Date().toISOString(),
      status,
      messages: toStorableMessages(messages),
      audit: this.state.audit,
    };
    await this.settings.sessions.appendTurn(this.state.sessionId, record);
  }

  /** The run state as plain JSON (images as data: URLs). */
  private snapshot(): RunState {
    const copy = structuredClone(this.state);
    copy.conversation = toStorableMessages(copy.conversation);
    return JSON.parse(JSON.stringify(copy)) as RunState;
  }

  private audit(entry: AuditEntry): void {
    this.state.audit.push(entry);
  }

  private emit(event: AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'runId'> : never) : never): void {
    this.run.emit({ ...event, runId: this.state.runId } as AgentEvent);
  }
}
