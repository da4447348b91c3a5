import type { Stage, Verdict } from '@lookout/guards';

/**
 * The verdict as events and results carry it. For output, tool-call and tool-result checks
 * a guard's `reason` or `redactedText` may quote the flagged text (e.g. `matched "…"`), and that
 * text must not leave the loop, so both are dropped there; spans and categories stay.
 */
export function publicVerdict(stage: Stage, verdict: Verdict): Verdict {
  if (stage === 'input') return verdict;
  const { reason: _reason, redactedText: _redacted, verdicts, ...rest } = verdict;
  return verdicts ? { ...rest, verdicts: verdicts.map((v) => publicVerdict(stage, v)) } : rest;
}
