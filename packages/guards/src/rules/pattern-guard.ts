import { applyRedactions, mergeRedactions } from '../compose/redactions.js';
import { GuardConfigError } from '../errors.js';
import type { Guard, GuardSubject, Redaction, Stage, Verdict } from '../types.js';

export interface PatternGuardOptions {
  /** Regular expressions (a string is compiled case-insensitively). */
  patterns?: Array<RegExp | string>;
  /** Words or phrases matched case-insensitively on word boundaries. */
  blocklist?: string[];
  /** 'block' (default) makes a match unsafe; 'redact' replaces the matches. */
  action?: 'block' | 'redact';
  /** Category code in verdicts. Default "pattern". */
  category?: string;
  /** Replacement text when redacting. Default "[REDACTED]". */
  replacement?: string;
  /** Only check these stages (default: all). */
  stages?: Stage[];
  name?: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rule guard over regular expressions and a word blocklist. */
export class PatternGuard implements Guard {
  readonly name: string;
  private readonly regexes: RegExp[];
  private readonly action: 'block' | 'redact';
  private readonly category: string;
  private readonly replacement: string;
  private readonly stages?: Stage[];

  constructor(options: PatternGuardOptions) {
    this.name = options.name ?? 'pattern';
    this.action = options.action ?? 'block';
    this.category = options.category ?? 'pattern';
    this.replacement = options.replacement ?? '[REDACTED]';
    this.stages = options.stages;
    this.regexes = [];
    for (const p of options.patterns ?? []) {
      try {
        const re = typeof p === 'string' ? new RegExp(p, 'giu') : new RegExp(p.source, p.flags.includes('g') ? p.flags : p.flags + 'g');
        this.regexes.push(re);
      } catch (e) {
        throw new GuardConfigError(`PatternGuard pattern ${JSON.stringify(String(p))} is not a valid regular expression: ${(e as Error).message}`);
      }
    }
    const words = (options.blocklist ?? []).map((w) => w.trim()).filter(Boolean);
    if (words.length) {
      // Unicode-aware word boundaries so "class" does not match inside "classic".
      this.regexes.push(new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}_])`, 'giu'));
    }
    if (this.regexes.length === 0) throw new GuardConfigError('PatternGuard needs at least one pattern or blocklist entry');
  }

  async check(subject: GuardSubject): Promise<Verdict> {
    const started = performance.now();
    if (this.stages && !this.stages.includes(subject.stage)) {
      return { safe: true, categories: [], guard: this.name, latencyMs: performance.now() - started };
    }
    const text = subject.content.text;
    const spans: Redaction[] = [];
    for (const re of this.regexes) {
      for (const m of text.matchAll(re)) {
        if (m[0].length === 0) continue;
        spans.push({ start: m.index!, end: m.index! + m[0].length, category: this.category, replacement: this.replacement });
      }
    }
    const latencyMs = performance.now() - started;
    if (spans.length === 0) return { safe: true, categories: [], guard: this.name, latencyMs };
    spans.sort((a, b) => a.start - b.start);
    const shown = [...new Set(spans.map((s) => text.slice(s.start, s.end)))].slice(0, 3).map((s) => JSON.stringify(s));
    const merged = mergeRedactions(spans);
    if (this.action === 'block') {
      return { safe: false, categories: [this.category], guard: this.name, latencyMs, reason: `matched ${shown.join(', ')}`, redactions: merged, redactedText: applyRedactions(text, merged) };
    }
    return {
      safe: true,
      categories: [this.category],
      guard: this.name,
      latencyMs,
      reason: `redacted ${merged.length} match(es)`,
      redactions: merged,
      redactedText: applyRedactions(text, merged),
    };
  }
}
