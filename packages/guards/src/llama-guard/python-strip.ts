/**
 * Python's str.strip() with no argument, which Meta's templates use (`| trim` in Jinja2 and
 * `.strip()`). It differs from JavaScript's String.prototype.trim: Python also strips
 * U+001C..U+001F and U+0085, and keeps U+FEFF.
 */
const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const EDGES = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, 'g');

export function pythonStrip(text: string): string {
  return text.replace(EDGES, '');
}
