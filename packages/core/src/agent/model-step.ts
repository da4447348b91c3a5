import type { GuardSubject } from '@lookout/guards';
import type { ChatMessage, ModelRequest, ToolCall } from '@lookout/runtime';
import { LookoutError } from '@lookout/tools';
import type { Context } from '@opentelemetry/api';
import { ModelStepFailed, RunAborted } from '../errors.js';
import type { StageDecision } from '../guarding/run-stage.js';
import { endSpan, startSpan } from '../tracing/spans.js';
import type { GuardStage } from './guard-stage.js';
import { OutputModerator } from './output-moderator.js';
import { outputFormat } from './output-schema.js';
import type { TurnScope } from './turn-scope.js';
import type { BlockInfo, PendingCall } from './types.js';

export type StepOutcome = { kind: 'blocked'; info: BlockInfo } | { kind: 'restart' } | { kind: 'answered' } | { kind: 'tools' };

/** Marks an abort the loop itself caused, so it is not mistaken for a model failure. */
class LoopAbort extends LookoutError {
  constructor(message: string) {
    super('AGENT_LOOP_ABORT', message);
  }
}

/**
 * One model step: the request goes out (with the input guards alongside on the turn's first
 * step), the reply is held back by the output moderator and released once checked, and tool
 * calls are validated into `state.pending`.
 */
export class ModelStep {
  constructor(
    private readonly scope: TurnScope,
    private readonly guards: GuardStage,
  ) {}

  async take(checkInput: boolean, parent: Context): Promise<StepOutcome> {
    const { scope } = this;
    const { settings, state } = scope;
    const controller = new AbortController();
    const runSignal = scope.run.signal;
    const onRunAbort = () => controller.abort(runSignal?.reason);
    if (runSignal?.aborted) throw new RunAborted(runSignal.reason);
    runSignal?.addEventListener('abort', onRunAbort, { once: true });

    let gate: Promise<StageDecision> | undefined;
    if (checkInput && settings.guards.input.length > 0) {
      const check = this.guards.check('input', this.inputSubject(), parent);
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
      check: (text) => this.guards.check('output', { stage: 'output', conversation: [...state.conversation], content: { text, images: [] } }, parent),
      release: (text) => {
        state.releasedText += text;
        scope.emit({ type: 'text-delta', text, step: stepIndex });
      },
    });
    const calls: ToolCall[] = [];
    const malformed: Array<{ raw: string; message: string }> = [];
    let failure: unknown;

    try {
      const request: ModelRequest = {
        messages: this.requestMessages(),
        ...(scope.run.runner.specs.length ? { tools: scope.run.runner.specs } : {}),
        ...(settings.sampling ? { sampling: settings.sampling } : {}),
        // A reply constrained to JSON cannot be a tool call: with tools offered the output schema
        // is checked after the answer instead.
        ...(scope.run.output && settings.model.capabilities.structuredOutput && !scope.run.runner.specs.length
          ? { responseFormat: outputFormat(scope.run.output) }
          : {}),
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
    const { runner } = scope.run;
    const pending: PendingCall[] = calls.map((call) => {
      const prepared = runner.prepare(call);
      return prepared.ok ? { call, args: prepared.args } : { call, rejection: prepared.result };
    });
    malformed.forEach((m, i) => {
      const rejected = runner.rejectMalformed(`unparsed_${stepIndex}_${i}`, m.raw, m.message);
      pending.push({ call: rejected.call as ToolCall, rejection: rejected.result });
    });
    state.invalidToolCalls = runner.invalidCalls;
    state.pending = pending;
    return { kind: 'tools' };
  }

  /** Blocked input ends the turn; redacted input replaces the user's text and restarts the step. */
  private onInputDecision(decision: StageDecision): StepOutcome {
    const { state } = this.scope;
    if (decision.kind === 'block') return { kind: 'blocked', info: { stage: 'input', verdict: decision.verdict } };
    if (decision.kind === 'redact') {
      const index = state.turnStart;
      const message = state.conversation[index];
      if (message?.role === 'user') {
        const images = typeof message.content === 'string' ? [] : message.content.filter((p) => p.type === 'image');
        state.conversation[index] = {
          role: 'user',
          content: images.length ? [{ type: 'text', text: decision.text }, ...images] : decision.text,
        };
      }
      return { kind: 'restart' };
    }
    return { kind: 'answered' };
  }

  private inputSubject(): GuardSubject {
    const { state } = this.scope;
    const message = state.conversation[state.turnStart];
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
      conversation: state.conversation.slice(0, state.turnStart),
      content: { text: text.join('\n'), images },
    };
  }

  private requestMessages(): ChatMessage[] {
    const { settings, state } = this.scope;
    const system: ChatMessage[] = settings.system ? [{ role: 'system', content: settings.system }] : [];
    return [...system, ...state.conversation];
  }

  /**
   * Input guards run before the model starts in sequential mode, and also whenever one of them
   * may redact: in parallel the model's first request would carry the text before redaction.
   */
  private get waitForInputGuards(): boolean {
    const { settings } = this.scope;
    return settings.inputGuardMode === 'sequential' || settings.guards.input.some((g) => g.action === 'redact');
  }
}
