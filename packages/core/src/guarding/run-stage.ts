import type { GuardSubject, Verdict } from '@lookout/guards';
import { scrubbedReason } from './failure-reason.js';
import { canRedact, combineRedactions } from './redaction.js';
import { NotAVerdictError, verdictProblem } from './verdict-shape.js';
import type { GuardAction, ResolvedGuard } from './config.js';
import { traceGuardCheck } from '../tracing/spans.js';
import type { Context } from '@opentelemetry/api';

/** A verdict together with the action the loop attached to its guard. */
export interface LoopVerdict {
  verdict: Verdict;
  action: GuardAction;
}

export type StageDecision =
  | { kind: 'pass' }
  | { kind: 'block'; verdict: Verdict }
  | { kind: 'redact'; verdict: Verdict; text: string };

export interface StageOutcome {
  decision: StageDecision;
  /** Every verdict that arrived before the decision, in arrival order. */
  verdicts: LoopVerdict[];
}

export interface RunStageOptions {
  signal?: AbortSignal;
  /** Called for each verdict as it arrives (before the decision is returned). */
  onVerdict?: (v: LoopVerdict) => void;
  traceContext?: Context;
}

/**
 * Runs one stage's guards in parallel. The first unsafe verdict from a blocking guard decides
 * and the rest are aborted; warn guards only report. Redactions (an unsafe verdict from a
 * redacting guard, or a safe verdict that carries redacted text, as a PII guard in redact mode
 * gives) are applied together once every guard answered. A guard that throws, times out or
 * answers nonsense gives an unsafe verdict with `failure` set, or a safe one when fail-open.
 */
export function runStage(guards: ResolvedGuard[], subject: GuardSubject, options: RunStageOptions = {}): Promise<StageOutcome> {
  if (guards.length === 0) return Promise.resolve({ decision: { kind: 'pass' }, verdicts: [] });
  const stageAbort = new AbortController();
  const onOuterAbort = () => stageAbort.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  return new Promise<StageOutcome>((resolve) => {
    const verdicts: LoopVerdict[] = [];
    const redacting: Verdict[] = [];
    let remaining = guards.length;
    let decided = false;
    const decide = (decision: StageDecision) => {
      if (decided) return;
      decided = true;
      options.signal?.removeEventListener('abort', onOuterAbort);
      stageAbort.abort(new Error('stage decided'));
      resolve({ decision, verdicts });
    };
    for (const entry of guards) {
      checkOne(entry, subject, stageAbort.signal, options.traceContext).then((verdict) => {
        if (decided) return;
        verdicts.push({ verdict, action: entry.action });
        options.onVerdict?.({ verdict, action: entry.action });
        if (entry.action !== 'warn') {
          // A redacting guard with nothing to redact with can only block.
          if (!verdict.safe && (entry.action === 'block' || !canRedact(verdict))) return decide({ kind: 'block', verdict });
          if (canRedact(verdict)) redacting.push(verdict);
        }
        remaining -= 1;
        if (remaining > 0) return;
        if (redacting.length === 0) return decide({ kind: 'pass' });
        const text = combineRedactions(subject.content.text, redacting);
        if (text === undefined) return decide({ kind: 'block', verdict: redacting.find((v) => !v.safe) ?? redacting[0] });
        decide({ kind: 'redact', verdict: redacting.find((v) => !v.safe) ?? redacting[0], text });
      });
    }
  });
}

/**
 * One guard with its time limit; never rejects. The verdict carries the guard's name and the
 * latency the loop measured. A failure (throw, timeout, nonsense, or a verdict the guard itself
 * marked as failed) is unsafe unless the entry is fail-open, and its reason never quotes the
 * checked text.
 */
async function checkOne(entry: ResolvedGuard, subject: GuardSubject, stageSignal: AbortSignal, traceContext?: Context): Promise<Verdict> {
  const started = performance.now();
  const controller = new AbortController();
  const onStageAbort = () => controller.abort(stageSignal.reason);
  stageSignal.addEventListener('abort', onStageAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), entry.timeoutMs);
  });
  const name = entry.guard.name;
  const failed = (failure: NonNullable<Verdict['failure']>, reason: string): Verdict => ({
    safe: entry.failOpen,
    categories: entry.failOpen ? [] : [`guard-failure:${failure}`],
    guard: name,
    latencyMs: performance.now() - started,
    failure,
    reason: scrubbedReason(reason, subject.content.text),
  });
  return traceGuardCheck(subject.stage, name, traceContext, async () => {
    try {
      const outcome = await Promise.race([entry.guard.check(subject, { signal: controller.signal }), timeout]);
      if (outcome === 'timeout') {
        controller.abort(new Error(`guard timed out after ${entry.timeoutMs} ms`));
        return failed('timeout', `Guard "${name}" did not answer within ${entry.timeoutMs} ms.`);
      }
      const problem = verdictProblem(outcome);
      if (problem) return failed('unparseable', new NotAVerdictError(name, problem).message);
      if (outcome.failure) return failed(outcome.failure, outcome.reason ?? `Guard "${name}" reported a ${outcome.failure} failure.`);
      // A served guard may send score: null for "no score"; events and the audit leave it out then.
      const { score, ...rest } = outcome;
      return { ...rest, ...(typeof score === 'number' ? { score } : {}), guard: name, latencyMs: performance.now() - started };
    } catch (error) {
      if (error instanceof NotAVerdictError) return failed('unparseable', error.message);
      return failed('error', `Guard "${name}" failed: ${describeError(error)}`);
    } finally {
      clearTimeout(timer);
      stageSignal.removeEventListener('abort', onStageAbort);
    }
  });
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` (${code})` : ''}: ${error.message}`;
}
