import { cachedGuard, type Guard, type GuardCheckOptions, type GuardSubject, type Stage, type Verdict, VerdictCache } from '@lookout/guards';
import type { ResolvedGuard } from './config.js';
import { NotAVerdictError, verdictProblem } from './verdict-shape.js';

/**
 * The stage guards of one run, each behind a shared bounded verdict cache, so identical content
 * (same guard, stage, text, images, tool and conversation) is classified once per run.
 *
 * Failures are never kept: under the cache each guard is wrapped so that nonsense answers throw
 * and an aborted or timed-out check rejects even when the guard ignores its signal; the cache
 * drops rejected calls, and failure verdicts it drops itself.
 */
export function withRunCache(guards: Record<Stage, ResolvedGuard[]>, cache: VerdictCache): Record<Stage, ResolvedGuard[]> {
  const wrapStage = (entries: ResolvedGuard[]) =>
    entries.map((entry, index): ResolvedGuard => {
      const name = entry.guard.name;
      // The index keeps two different guards that share a name apart in the cache key.
      const cached = cachedGuard({ name: `${index}\u0000${name}`, check: strictCheck(entry.guard) }, cache);
      return { ...entry, guard: { name, check: (subject, options) => cached.check(subject, options) } };
    });
  return {
    input: wrapStage(guards.input),
    output: wrapStage(guards.output),
    'tool-call': wrapStage(guards['tool-call']),
    'tool-result': wrapStage(guards['tool-result']),
  };
}

function strictCheck(guard: Guard): Guard['check'] {
  return async (subject: GuardSubject, options?: GuardCheckOptions): Promise<Verdict> => {
    const signal = options?.signal;
    const verdict = signal ? await raceAbort(guard.check(subject, options), signal) : await guard.check(subject, options);
    const problem = verdictProblem(verdict);
    if (problem) throw new NotAVerdictError(guard.name, problem);
    return verdict;
  };
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
