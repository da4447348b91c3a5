/** Longest reason kept in events and the audit log. */
const MAX_REASON_CHARS = 300;
/** Runs of at least this many characters shared with the checked text are cut out. */
const MIN_QUOTE_CHARS = 8;

/**
 * A guard failure's reason without any quote of the checked text: an error from a guard model
 * may echo its input ("cannot classify 'how to …'"), and flagged text must not reach the audit
 * log. Every run of MIN_QUOTE_CHARS or more characters that also occurs in `checked` becomes "[…]".
 */
export function scrubbedReason(reason: string, checked: string): string {
  const text = reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
  const min = Math.min(MIN_QUOTE_CHARS, checked.length);
  if (min < 4) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (i + min <= text.length && checked.includes(text.slice(i, i + min))) {
      let end = i + min;
      while (end < text.length && checked.includes(text.slice(i, end + 1))) end += 1;
      out += '[…]';
      i = end;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}
