import type { Redaction } from '../types.js';

/**
 * Merges redaction spans from several guards over the same text. Overlapping spans are joined
 * into one span (keeping the first span's category and replacement) so no offending character
 * survives and no replacement is applied twice.
 */
export function mergeRedactions(spans: Redaction[]): Redaction[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Redaction[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && span.start < last.end) {
      last.end = Math.max(last.end, span.end);
      continue;
    }
    merged.push({ ...span });
  }
  return merged;
}

/** Replaces each span in `text` (spans must not overlap; see mergeRedactions). */
export function applyRedactions(text: string, spans: Redaction[]): string {
  let out = '';
  let cursor = 0;
  for (const span of mergeRedactions(spans)) {
    out += text.slice(cursor, span.start) + span.replacement;
    cursor = span.end;
  }
  return out + text.slice(cursor);
}
