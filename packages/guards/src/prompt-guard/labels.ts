import { GuardModelError } from '../errors.js';

/** How a Prompt Guard checkpoint's labels map onto the two scores Lookout uses. */
export interface LabelScheme {
  version: 'v1' | 'v2';
  labels: string[];
  /** Probability that the text tries to override the model's instructions as a user (jailbreak). */
  jailbreak(probs: ArrayLike<number>): number;
  /** Probability that third-party text (tool results, documents) carries injected instructions. */
  injection(probs: ArrayLike<number>): number;
}

/**
 * Reads config.json's id2label. Prompt Guard 1 has BENIGN / INJECTION / JAILBREAK; its injection
 * score counts jailbreaks too (a jailbreak in a document is also an injection), as Meta's model card
 * recommends. Prompt Guard 2 has LABEL_0 (benign) / LABEL_1 (malicious), used for both scores.
 */
export function labelScheme(config: { id2label?: Record<string, string> }): LabelScheme {
  const entries = Object.entries(config.id2label ?? {}).map(([k, v]) => [Number(k), String(v).toUpperCase()] as const);
  if (entries.length === 0 || entries.some(([k]) => !Number.isInteger(k))) {
    throw new GuardModelError('config.json has no usable id2label; expected e.g. {"0":"BENIGN","1":"INJECTION","2":"JAILBREAK"} or {"0":"LABEL_0","1":"LABEL_1"}');
  }
  const labels: string[] = [];
  for (const [k, v] of entries) labels[k] = v;
  const index = (name: string) => labels.indexOf(name);
  if (labels.length === 3 && index('BENIGN') >= 0 && index('INJECTION') >= 0 && index('JAILBREAK') >= 0) {
    const inj = index('INJECTION');
    const jb = index('JAILBREAK');
    return { version: 'v1', labels, jailbreak: (p) => p[jb], injection: (p) => p[inj] + p[jb] };
  }
  if (labels.length === 2) {
    const malicious = index('MALICIOUS') >= 0 ? index('MALICIOUS') : index('LABEL_1');
    if (malicious >= 0) return { version: 'v2', labels, jailbreak: (p) => p[malicious], injection: (p) => p[malicious] };
  }
  throw new GuardModelError(
    `unrecognised Prompt Guard labels ${JSON.stringify(labels)}; accepted: BENIGN/INJECTION/JAILBREAK (v1) or LABEL_0/LABEL_1 or BENIGN/MALICIOUS (v2)`,
  );
}

export function softmax(logits: ArrayLike<number>, offset = 0, length = logits.length): Float64Array {
  const out = new Float64Array(length);
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < length; i++) sum += out[i] = Math.exp(logits[offset + i] - max);
  for (let i = 0; i < length; i++) out[i] /= sum;
  return out;
}
