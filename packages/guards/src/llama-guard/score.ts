import type { TokenLogprob } from '@lookout/runtime';

export interface TokenStep {
  token: TokenLogprob;
  top: TokenLogprob[];
}

export interface DecisionTokens {
  safe: { id?: number; text: string };
  unsafe: { id?: number; text: string };
}

function matches(entry: TokenLogprob, target: { id?: number; text: string }): boolean {
  if (target.id !== undefined && entry.id !== undefined) return entry.id === target.id;
  return entry.token.trim() === target.text;
}

/**
 * P(unsafe) at the decision step: the first generated token is "\n\n", the one after it says
 * safe/unsafe (a backend that drops leading whitespace puts the decision first; that is detected).
 * The probability is over the whole vocabulary, as Meta computes it. When "unsafe" is not among
 * the returned alternatives its probability is at most the smallest listed one, and at most
 * 1 - P(safe); the smaller bound is used. Undefined when neither token is visible.
 */
export function unsafeProbability(steps: TokenStep[], tokens: DecisionTokens): number | undefined {
  const step = steps.find((s) => s.token.token.trim() !== '');
  if (!step) return undefined;
  // Served engines may leave a log-probability out (NaN); such entries say nothing.
  const entries = [step.token, ...step.top].filter((e) => Number.isFinite(e.logprob));
  const unsafe = entries.find((e) => matches(e, tokens.unsafe));
  if (unsafe) return Math.exp(unsafe.logprob);
  const safe = entries.find((e) => matches(e, tokens.safe));
  if (!safe) return undefined;
  const smallest = Math.min(...entries.map((e) => e.logprob));
  return Math.min(1 - Math.exp(safe.logprob), entries.length > 1 ? Math.exp(smallest) : 1);
}
