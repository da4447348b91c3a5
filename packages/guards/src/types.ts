import type { ChatMessage, ImageInput } from '@lookout/runtime';

/** Where in the agent loop content is checked. */
export type Stage = 'input' | 'output' | 'tool-call' | 'tool-result';

export interface GuardSubject {
  stage: Stage;
  /** The conversation so far, ending before the content under test. */
  conversation: ChatMessage[];
  /** The content under test. */
  content: { text: string; images: ImageInput[] };
  /** Set for tool-call and tool-result stages. */
  tool?: { name: string; arguments?: unknown };
}

export interface Verdict {
  safe: boolean;
  /** Category codes, e.g. ["S1"] for Llama Guard or ["pii:email"] for rule guards. */
  categories: string[];
  /** P(unsafe) or a classifier score in [0, 1], where the guard can give one. */
  score?: number;
  guard: string;
  latencyMs: number;
  reason?: string;
  /** Set when the verdict was not a real classification: the guard threw, timed out or answered nonsense. */
  failure?: 'error' | 'timeout' | 'unparseable';
  /** For redacting guards: the content with the offending spans replaced. */
  redactedText?: string;
  /** For redacting guards: the replaced spans, as offsets into `subject.content.text` (lets a composition merge several guards' redactions). */
  redactions?: Redaction[];
  /** For composed guards: the verdicts of the members that answered. */
  verdicts?: Verdict[];
}

/** One span of the checked text that a redacting guard replaces. */
export interface Redaction {
  start: number;
  end: number;
  category: string;
  replacement: string;
}

export interface GuardCheckOptions {
  signal?: AbortSignal;
}

export interface Guard {
  readonly name: string;
  check(subject: GuardSubject, options?: GuardCheckOptions): Promise<Verdict>;
}
