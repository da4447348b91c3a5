import { ibanValid, luhnValid, ssnValid } from './checksums.js';

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'ssn';

export const ALL_PII_KINDS: readonly PiiKind[] = ['card', 'iban', 'ssn', 'email', 'phone'];

export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
  text: string;
}

type Detector = (text: string) => PiiMatch[];

function scan(text: string, kind: PiiKind, pattern: RegExp, accept: (m: RegExpExecArray) => boolean): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of text.matchAll(pattern)) {
    if (accept(m as RegExpExecArray)) out.push({ kind, start: m.index!, end: m.index! + m[0].length, text: m[0] });
  }
  return out;
}

const detectors: Record<PiiKind, Detector> = {
  email: (text) => scan(text, 'email', /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])/g, () => true),

  // 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check.
  card: (text) =>
    scan(text, 'card', /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, (m) => {
      const digits = m[0].replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
    }),

  // Country code, check digits, 11-30 alphanumerics (print form may group by 4 with spaces).
  iban: (text) =>
    scan(text, 'iban', /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])/g, (m) => ibanValid(m[0])),

  // AAA-GG-SSSS or AAA GG SSSS with the same separator; bare 9-digit runs are too ambiguous.
  ssn: (text) =>
    scan(text, 'ssn', /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g, (m) => ssnValid(m[1], m[3], m[4])),

  // International (+ and 8-15 digits) or national numbers with 10-15 digits; 7-9 digit runs
  // (dates, amounts, order numbers) are left alone.
  phone: (text) =>
    scan(text, 'phone', /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,5}(?![\w])/g, (m) => {
      const digits = m[0].replace(/\D/g, '');
      return m[0].startsWith('+') ? digits.length >= 8 && digits.length <= 15 : digits.length >= 10 && digits.length <= 15;
    }),
};

/**
 * Finds PII in `text`. Where matches overlap, the more specific kind wins (card, IBAN and SSN
 * carry checksums or strict formats; e-mail before phone), so a card number is not also a phone.
 */
export function detectPii(text: string, kinds: readonly PiiKind[] = ALL_PII_KINDS): PiiMatch[] {
  const taken: PiiMatch[] = [];
  for (const kind of ALL_PII_KINDS) {
    if (!kinds.includes(kind)) continue;
    for (const match of detectors[kind](text)) {
      if (!taken.some((t) => match.start < t.end && t.start < match.end)) taken.push(match);
    }
  }
  return taken.sort((a, b) => a.start - b.start);
}
