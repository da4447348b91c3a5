/**
 * JSON text as the chat template's `tojson` filter writes it (Hugging Face's filter is
 * `json.dumps(x, ensure_ascii=False, indent=...)`): ", " and ": " separators on one line, or
 * "," + newline with `indent`. JSON.stringify's compact form would give different tokens.
 */
export function templateJson(value: unknown, indent?: number): string {
  return write(value, indent ?? 0, 0);
}

function write(value: unknown, indent: number, depth: number): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // Python writes NaN/Infinity bare; JSON has no such values, so follow JSON.stringify (null).
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return 'null';
  }
  const entries: Array<[string | undefined, unknown]> = Array.isArray(value)
    ? value.map((item) => [undefined, item])
    : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && typeof v !== 'function');
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return open + close;
  const items = entries.map(([key, item]) => (key === undefined ? '' : `${JSON.stringify(key)}: `) + write(item, indent, depth + 1));
  if (!indent) return open + items.join(', ') + close;
  const inner = '\n' + ' '.repeat(indent * (depth + 1));
  const outer = '\n' + ' '.repeat(indent * depth);
  return open + inner + items.join(',' + inner) + outer + close;
}
