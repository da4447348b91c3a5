import type { LanguageModel, ModelCapabilities, ModelEvent, ModelRequest, StreamOptions, TokenLogprob } from '@lookout/runtime';

/** One scripted answer: the text and, optionally, per-token log-probabilities. */
export interface ScriptedAnswer {
  text: string;
  tokens?: Array<{ token: TokenLogprob; top: TokenLogprob[] }>;
  delayMs?: number;
}

/**
 * A LanguageModel that replays scripted answers and records every request, for testing guards
 * without a real model. `answer` may look at the request to pick a reply.
 */
export class ScriptedModel implements LanguageModel {
  readonly id = 'scripted';
  readonly requests: ModelRequest[] = [];
  readonly capabilities: ModelCapabilities;

  constructor(
    private readonly answer: (request: ModelRequest, index: number) => ScriptedAnswer,
    capabilities: Partial<ModelCapabilities> = {},
  ) {
    this.capabilities = { images: true, tools: false, logprobs: true, rawPrompt: true, ...capabilities };
  }

  async *stream(request: ModelRequest, options: StreamOptions = {}): AsyncIterable<ModelEvent> {
    const index = this.requests.push(request) - 1;
    const a = this.answer(request, index);
    if (a.delayMs) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, a.delayMs);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(options.signal!.reason);
        });
      });
    }
    if (request.topLogprobs !== undefined && a.tokens) {
      for (const t of a.tokens) yield { type: 'token', token: t.token, top: t.top.slice(0, request.topLogprobs) };
    }
    yield { type: 'text-delta', text: a.text };
    yield { type: 'finish', reason: 'stop', usage: { inputTokens: 0, outputTokens: a.tokens?.length ?? 1 } };
  }
}

/** Token events as Llama Guard emits them: "\n\n" then the decision with the given P(unsafe). */
export function decisionTokens(pUnsafe: number, ids = { nl: 271, safe: 19193, unsafe: 39257 }): ScriptedAnswer['tokens'] {
  const unsafe = { token: 'unsafe', id: ids.unsafe, logprob: Math.log(pUnsafe) };
  const safe = { token: 'safe', id: ids.safe, logprob: Math.log(1 - pUnsafe) };
  const chosen = pUnsafe >= 0.5 ? unsafe : safe;
  return [
    { token: { token: '\n\n', id: ids.nl, logprob: 0 }, top: [{ token: '\n\n', id: ids.nl, logprob: 0 }] },
    { token: chosen, top: [chosen, chosen === safe ? unsafe : safe] },
  ];
}
