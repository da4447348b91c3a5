import { applyRedactions } from '../compose/redactions.js';
import { GuardConfigError } from '../errors.js';
import type { Guard, GuardSubject, Redaction, Verdict } from '../types.js';
import { ALL_PII_KINDS, detectPii, type PiiKind } from './pii/detectors.js';

export interface PiiGuardOptions {
  /** 'block' makes any PII unsafe; 'redact' keeps the verdict safe and replaces the spans. Default 'block'. */
  action?: 'block' | 'redact';
  /** Which kinds to look for. Default: all (email, phone, card, iban, ssn). */
  kinds?: PiiKind[];
  /** Replacement text for a span. Default `[REDACTED:<KIND>]`. */
  replacement?: (kind: PiiKind) => string;
  name?: string;
}

const LABELS: Record<PiiKind, string> = {
  email: 'e-mail address',
  phone: 'phone number',
  card: 'payment card number',
  iban: 'IBAN',
  ssn: 'US social security number',
};

/** Rule guard for personal data: e-mail, phone, payment cards (Luhn), IBAN (mod-97), US SSN. */
export class PiiGuard implements Guard {
  readonly name: string;
  private readonly action: 'block' | 'redact';
  private readonly kinds: PiiKind[];
  private readonly replacement: (kind: PiiKind) => string;

  constructor(options: PiiGuardOptions = {}) {
    this.name = options.name ?? 'pii';
    this.action = options.action ?? 'block';
    if (this.action !== 'block' && this.action !== 'redact') {
      throw new GuardConfigError(`PiiGuard action must be "block" or "redact"; got ${JSON.stringify(options.action)}`);
    }
    this.kinds = options.kinds ?? [...ALL_PII_KINDS];
    const unknown = this.kinds.filter((k) => !ALL_PII_KINDS.includes(k));
    if (unknown.length) {
      throw new GuardConfigError(`unknown PII kind(s) ${unknown.join(', ')}; accepted: ${ALL_PII_KINDS.join(', ')}`);
    }
    this.replacement = options.replacement ?? ((kind) => `[REDACTED:${kind.toUpperCase()}]`);
  }

  async check(subject: GuardSubject): Promise<Verdict> {
    const started = performance.now();
    const matches = detectPii(subject.content.text, this.kinds);
    const categories = [...new Set(matches.map((m) => `pii:${m.kind}`))];
    const latencyMs = () => performance.now() - started;
    if (matches.length === 0) return { safe: true, categories: [], guard: this.name, latencyMs: latencyMs() };
    const found = summarize(matches.map((m) => m.kind));
    // Spans and redacted text are reported in block mode too, so a stage whose action is "redact" can use them.
    const redactions: Redaction[] = matches.map((m) => ({
      start: m.start,
      end: m.end,
      category: `pii:${m.kind}`,
      replacement: this.replacement(m.kind),
    }));
    const redactedText = applyRedactions(subject.content.text, redactions);
    if (this.action === 'block') {
      return { safe: false, categories, guard: this.name, latencyMs: latencyMs(), reason: `found ${found}`, redactions, redactedText };
    }
    return { safe: true, categories, guard: this.name, latencyMs: latencyMs(), reason: `redacted ${found}`, redactions, redactedText };
  }
}

function summarize(kinds: PiiKind[]): string {
  const counts = new Map<PiiKind, number>();
  for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${LABELS[k]}${n > 1 ? 's' : ''}`).join(', ');
}
