import type { LanguageModel, ModelCapabilities, ModelEvent, ModelRequest, StreamOptions, Usage } from '@lookout/runtime';

export type Script = (request: ModelRequest, call: number) => ModelEvent[];

/**
 * A LanguageModel that answers from a script and records what it was asked. `gate` holds each
 * call after its first event until released, to test queueing, disconnects and shutdown.
 */
export class RecordingModel implements LanguageModel {
  readonly id = 'scripted';
  readonly capabilities: ModelCapabilities;
  readonly requests: ModelRequest[] = [];
  readonly signals: AbortSignal[] = [];
  private gates: Array<() => void> = [];
  private waiting: Array<() => void> = [];
  gated = false;

  constructor(
    private readonly script: Script,
    capabilities: Partial<ModelCapabilities> = {},
  ) {
    this.capabilities = { images: true, tools: true, logprobs: true, rawPrompt: true, ...capabilities };
  }

  /** Resolves when `n` calls are parked at their gate. */
  async parked(n: number): Promise<void> {
    while (this.gates.length < n) await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    for (const open of this.gates.splice(0)) open();
  }

  async *stream(request: ModelRequest, options: StreamOptions = {}): AsyncIterable<ModelEvent> {
    const call = this.requests.push(request) - 1;
    if (options.signal) this.signals.push(options.signal);
    const events = this.script(request, call);
    for (let i = 0; i < events.length; i++) {
      if (options.signal?.aborted) throw options.signal.reason;
      yield events[i];
      if (i === 0 && this.gated) {
        await new Promise<void>((resolve, reject) => {
          this.gates.push(resolve);
          for (const w of this.waiting.splice(0)) w();
          options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
        });
      }
      await new Promise((r) => setImmediate(r));
    }
  }
}

export const textEvents = (text: string, usage: Usage = { inputTokens: 7, outputTokens: 2 }): ModelEvent[] => [
  ...text.split(/(?<= )/).map((t): ModelEvent => ({ type: 'text-delta', text: t })),
  { type: 'finish', reason: 'stop', usage },
];

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of it) out.push(e);
  return out;
}
