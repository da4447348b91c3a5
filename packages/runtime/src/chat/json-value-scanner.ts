/**
 * Splits text into consecutive top-level JSON objects/arrays ("{..}\n{..}", "{..}; {..}") by
 * bracket matching that respects strings. It does not parse: JSON.parse does that per value.
 */
export interface JsonScan {
  /** Source text of each complete value, in order. */
  values: string[];
  /** Text left after the last value that is not a separator (whitespace, ';' or ','). */
  trailing: string;
  /** True when the text ended inside a value (a cut-off stream). */
  incomplete: boolean;
}

const SEPARATOR = /[\s;,]/;

export function scanJsonValues(text: string): JsonScan {
  const values: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && SEPARATOR.test(text[i]!)) i++;
    if (i >= text.length) break;
    const open = text[i];
    if (open !== '{' && open !== '[') return { values, trailing: text.slice(i), incomplete: false };
    const end = matchingClose(text, i);
    if (end < 0) return { values, trailing: text.slice(i), incomplete: true };
    values.push(text.slice(i, end + 1));
    i = end + 1;
  }
  return { values, trailing: '', incomplete: false };
}

/** Index of the bracket closing the one at `start`, or -1 if the text ends first. */
function matchingClose(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
