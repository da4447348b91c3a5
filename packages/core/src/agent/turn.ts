import type { Context } from '@opentelemetry/api';
import type { z } from '@lookout/tools';
import { MaxStepsExceeded, OutputValidationFailed } from '../errors.js';
import { checkOutput, outputCorrection } from './output-schema.js';
import type { AuditEntry } from '../sessions/types.js';
import { endSpan, startSpan } from '../tracing/spans.js';
import { GuardStage } from './guard-stage.js';
import { ModelStep } from './model-step.js';
import { ToolStep } from './tool-step.js';
import { TurnEndings } from './turn-endings.js';
import type { TurnEvent, TurnRun, TurnScope, TurnSettings } from './turn-scope.js';
import type { AgentEvent } from './events.js';
import type { AgentResult, RunState } from './types.js';

export type { TurnRun, TurnSettings } from './turn-scope.js';

/**
 * One turn of the guarded loop: model steps, tool calls and guard checks until the model
 * answers, a guard blocks, a tool needs approval, or the run fails. The parts live beside it:
 * ModelStep, ToolStep, GuardStage and TurnEndings, sharing this turn as their scope.
 */
export class Turn implements TurnScope {
  private readonly modelStep: ModelStep;
  private readonly toolStep: ToolStep;
  private readonly endings: TurnEndings;

  constructor(
    readonly settings: TurnSettings,
    readonly run: TurnRun,
    readonly state: RunState,
  ) {
    const guards = new GuardStage(this);
    this.endings = new TurnEndings(this);
    this.modelStep = new ModelStep(this, guards);
    this.toolStep = new ToolStep(this, guards, () => this.endings.snapshot());
  }

  async execute(): Promise<AgentResult> {
    const { span, ctx } = startSpan('lookout.agent.turn', {
      'lookout.run_id': this.state.runId,
      'lookout.session_id': this.state.sessionId,
      'lookout.resumed': this.run.resumed,
    });
    try {
      const result = await this.loop(ctx);
      endSpan(span);
      return result;
    } catch (error) {
      endSpan(span, error);
      const err = error instanceof Error ? error : new Error(String(error));
      // A tool ran (its effect is real), or the turn was continued after a pause (its messages
      // were already shown as pending): the stored turn keeps its messages, each call answered.
      const keep = this.toolStep.anyExecuted || this.run.resumed;
      if (keep) this.toolStep.abandon();
      await this.endings.failed(err, keep).catch(() => {});
      throw err;
    }
  }

  private async loop(ctx: Context): Promise<AgentResult> {
    this.emit({ type: 'turn-start', turnId: this.state.turnId, sessionId: this.state.sessionId, resumed: this.run.resumed });
    let checkInput = !this.run.resumed;
    while (true) {
      if (this.state.pending.length > 0) {
        const waiting = await this.toolStep.process(ctx);
        if (waiting) return this.endings.paused(waiting);
      }
      if (this.state.step >= this.settings.maxSteps) throw new MaxStepsExceeded(this.settings.maxSteps);
      const outcome = await this.modelStep.take(checkInput, ctx);
      // A restart follows a redacted input; the redacted text is not checked again.
      checkInput = false;
      if (outcome.kind === 'blocked') return this.endings.blocked(outcome.info);
      if (outcome.kind === 'answered') {
        const output = this.run.output;
        if (!output) return this.endings.completed();
        const checked = this.checkAnswer(output);
        if (checked.ok) return this.endings.completed(checked.value);
      }
    }
  }

  /**
   * The final answer against the run's output schema: valid, or re-asked (the model is told the
   * issues) while the budget lasts, then OutputValidationFailed.
   */
  private checkAnswer(schema: z.ZodType): { ok: true; value: unknown } | { ok: false } {
    const { state, settings } = this;
    const last = state.conversation[state.conversation.length - 1];
    const text = last?.role === 'assistant' ? last.content : '';
    const checked = checkOutput(text, schema);
    if (checked.ok) return checked;
    state.invalidOutputs = (state.invalidOutputs ?? 0) + 1;
    if (state.invalidOutputs > settings.outputRetryBudget) throw new OutputValidationFailed(settings.outputRetryBudget, checked.issues, text);
    state.conversation.push({ role: 'user', content: outputCorrection(checked.issues, schema) });
    return { ok: false };
  }

  audit(entry: AuditEntry): void {
    this.state.audit.push(entry);
  }

  emit(event: TurnEvent): void {
    this.run.emit({ ...event, runId: this.state.runId } as AgentEvent);
  }
}
