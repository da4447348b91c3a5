import type { Guard, GuardSubject, Stage, Verdict } from '../types.js';

/** Builds a subject for tests and examples: text under test at a stage with no history. */
export function textSubject(text: string, stage: Stage = 'input', conversation: GuardSubject['conversation'] = []): GuardSubject {
  return { stage, conversation, content: { text, images: [] } };
}

/** A guard that answers with a fixed verdict after a delay, honouring abort; counts its calls. */
export class FixedGuard implements Guard {
  calls = 0;
  aborted = 0;
  constructor(
    readonly name: string,
    private readonly answer: Partial<Verdict> | Error,
    private readonly delayMs = 0,
  ) {}
  check(_subject: GuardSubject, options: { signal?: AbortSignal } = {}): Promise<Verdict> {
    this.calls++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.answer instanceof Error) reject(this.answer);
        else resolve({ safe: true, categories: [], guard: this.name, latencyMs: this.delayMs, ...this.answer });
      }, this.delayMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        this.aborted++;
        reject(options.signal!.reason);
      });
    });
  }
}
