import type { Redaction, Verdict } from '@lookout/guards';

/**
 * The text after every redacting verdict of a stage is applied to `text`. Verdicts that report
 * spans (`redactions`) are combined: overlapping spans join so no flagged character survives.
 * A single verdict without spans contributes its `redactedText`. Several verdicts of which one
 * gives no spans cannot be combined safely: undefined is returned and the caller blocks.
 */
export function combineRedactions(text: string, verdicts: Verdict[]): string | undefined {
  if (verdicts.length === 0) return text;
  if (verdicts.every((v) => Array.isArray(v.redactions))) {
    return applySpans(text, verdicts.flatMap((v) => v.redactions!));
  }
  if (verdicts.length === 1 && typeof verdicts[0].redactedText === 'string') return verdicts[0].redactedText;
  return undefined;
}

/** True when a verdict carries something the loop can redact with. */
export function canRedact(verdict: Verdict): boolean {
  return typeof verdict.redactedText === 'string' || (Array.isArray(verdict.redactions) && verdict.redactions.length > 0);
}

function applySpans(text: string, spans: Redaction[]): string {
  const ordered = spans
    .filter((s) => Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end <= text.length && s.start < s.end)
    .sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  for (const span of ordered) {
    if (span.end <= cursor) continue; // wholly inside a span already replaced
    out += text.slice(cursor, Math.max(cursor, span.start)) + (span.start >= cursor ? span.replacement : '');
    cursor = span.end;
  }
  return out + text.slice(cursor);
}
