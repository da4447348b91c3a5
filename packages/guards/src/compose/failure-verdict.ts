import type { Verdict } from '../types.js';

/**
 * The verdict that stands in for a guard that threw, timed out or answered nonsense.
 * Fail-closed (the default) makes it unsafe; fail-open lets the content through but keeps the
 * failure and its reason on record so the audit log shows the content was not really checked.
 */
export function failureVerdict(
  guard: string,
  failure: NonNullable<Verdict['failure']>,
  reason: string,
  latencyMs: number,
  failOpen = false,
): Verdict {
  return {
    safe: failOpen,
    categories: failOpen ? [] : [`guard-failure:${failure}`],
    guard,
    latencyMs,
    failure,
    reason: failOpen ? `${reason} (fail-open: content allowed unchecked)` : reason,
  };
}

/** Applies a per-guard fail-open setting to a verdict the guard itself marked as a failure. */
export function applyFailOpen(verdict: Verdict, failOpen: boolean): Verdict {
  if (!failOpen || !verdict.failure || verdict.safe) return verdict;
  return failureVerdict(verdict.guard, verdict.failure, verdict.reason ?? 'guard failed', verdict.latencyMs, true);
}
