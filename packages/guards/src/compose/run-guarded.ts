import { GuardAbortError, GuardTimeoutError } from '../errors.js';
import type { Guard, GuardSubject, Verdict } from '../types.js';
import { childController } from './abort.js';
import { applyFailOpen, failureVerdict } from './failure-verdict.js';

export interface GuardedRunOptions {
  /** Abort the guard and answer with a timeout verdict after this many ms. Unlimited when absent. */
  timeoutMs?: number;
  /** Let content through when the guard fails (throws, times out, answers nonsense). Default false. */
  failOpen?: boolean;
  signal?: AbortSignal;
}

/**
 * Runs one guard so that it always yields a verdict: a throw or timeout becomes a failure verdict
 * (fail-closed unless `failOpen`). Only the caller's own abort is rethrown, as GuardAbortError.
 */
export async function runGuarded(guard: Guard, subject: GuardSubject, options: GuardedRunOptions = {}): Promise<Verdict> {
  const started = performance.now();
  const { controller, dispose } = childController(options.signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    }
  });
  const aborted = new Promise<'aborted'>((resolve) => {
    if (controller.signal.aborted) resolve('aborted');
    else controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const elapsed = () => performance.now() - started;
  try {
    const outcome = await Promise.race([
      guard.check(subject, { signal: controller.signal }).then(
        (verdict) => ({ verdict }),
        (error: unknown) => ({ error }),
      ),
      timedOut,
      aborted,
    ]);
    if (outcome === 'aborted' || options.signal?.aborted) throw new GuardAbortError(guard.name);
    if (outcome === 'timeout') {
      controller.abort(new GuardTimeoutError(guard.name, options.timeoutMs!));
      return failureVerdict(guard.name, 'timeout', new GuardTimeoutError(guard.name, options.timeoutMs!).message, elapsed(), options.failOpen);
    }
    if ('error' in outcome) {
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      const code = (outcome.error as { code?: unknown })?.code;
      return failureVerdict(
        guard.name,
        'error',
        `guard "${guard.name}" failed${typeof code === 'string' ? ` (${code})` : ''}: ${message}`,
        elapsed(),
        options.failOpen,
      );
    }
    return applyFailOpen(outcome.verdict, options.failOpen ?? false);
  } finally {
    if (timer) clearTimeout(timer);
    dispose();
  }
}
