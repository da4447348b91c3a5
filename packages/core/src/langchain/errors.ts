import type { Stage, Verdict } from '@lookout/guards';
import { LookoutError } from '@lookout/tools';

/** Base of the LangChain adapter's errors; `code` is stable. */
export class LangChainAdapterError extends LookoutError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** A LangChain message or content block Lookout cannot express. */
export class UnsupportedContentError extends LangChainAdapterError {
  constructor(message: string) {
    super('langchain.unsupported_content', message);
  }
}

/** Thrown by the guard Runnable (mode "throw") when content is unsafe. */
export class GuardBlockedError extends LangChainAdapterError {
  readonly stage: Stage;
  readonly verdict: Verdict;
  constructor(stage: Stage, verdict: Verdict) {
    super('langchain.guard_blocked', `${stage} blocked by guard "${verdict.guard}"${verdict.categories.length ? ` (${verdict.categories.join(', ')})` : ''}${verdict.reason ? `: ${verdict.reason}` : ''}`);
    this.stage = stage;
    this.verdict = verdict;
  }
}

/** withStructuredOutput: the model's tool-call arguments failed the zod schema. `value` is what it gave. */
export class StructuredOutputError extends LangChainAdapterError {
  readonly value: unknown;
  constructor(message: string, value: unknown) {
    super('langchain.structured_output', message);
    this.value = value;
  }
}
