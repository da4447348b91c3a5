import type { Stage, Verdict } from '@lookout/guards';

/**
 * The verdict as events and results carry it. For output, tool-call and tool-result checks
 * a guard's `reason` or `redactedText` may quote the flagged text (e.g. `matched "…"`), and that
 * text must not leave the loop, so both are dropped there; spans and categories stay. The reason
 * of a failure verdict is kept: the loop wrote it and cut every quote of the checked text out.
 */
export function publicVerdict(stage: Stage, verdict: Verdict): Verdict {
  if (stage === 'input') return verdict;
  return strip(verdict, true);
}

/** Member verdicts of a composed guard carry reasons the loop did not write: dropped as well. */
function strip(verdict: Verdict, top: boolean): Verdict {
  const { reason, redactedText: _redacted, verdicts, ...rest } = verdict;
  const kept = top && verdict.failure && reason !== undefined ? { ...rest, reason } : rest;
  return verdicts ? { ...kept, verdicts: verdicts.map((v) => strip(v, false)) } : kept;
}
