import { setTimeout as delay } from 'node:timers/promises';
import type { FinishReason, LanguageModel, ModelCapabilities, ModelEvent, ModelRequest, StreamOptions, Usage } from '@lookout/runtime';
import { AgentError } from '../errors.js';

/** One scripted thing the model does during a step. */
export type ScriptItem =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; name: string; arguments: unknown; id?: string }
  | { type: 'tool-call-error'; raw: string; message: string }
  | { type: 'delay'; ms: number }
  | { type: 'error'; error: Error | string }
  | { type: 'finish'; reason?: FinishReason; usage?: Usage };

/** A step's items, fixed or computed from the request the model received. */
export type ScriptStep = ScriptItem[] | ((request: ModelRequest, stepIndex: number) => ScriptItem[]);

export interface ScriptedModelOptions {
  steps: ScriptStep[];
  id?: string;
  capabilities?: Partial<ModelCapabilities>;
  /** What to do when asked for more steps than scripted. Default 'throw'. */
  whenExhausted?: 'throw' | 'repeat-last';
}

/** Text split into deltas of `chunk` characters, each after an optional delay. */
export function say(text: string, options: { chunk?: number; delayMs?: number } = {}): ScriptItem[] {
  const size = Math.max(1, options.chunk ?? 8);
  const items: ScriptItem[] = [];
  for (let i = 0; i < text.length; i += size) {
    if (options.delayMs) items.push({ type: 'delay', ms: options.delayMs });
    items.push({ type: 'text', text: text.slice(i, i + size) });
  }
  return items;
}

export function callTool(name: string, args: unknown, id?: string): ScriptItem {
  return { type: 'tool-call', name, arguments: args, id };
}

/**
 * A LanguageModel that plays back a script, one entry per model step. It records every request
 * (deep-copied) so tests can assert what the loop sent, and it honours AbortSignal: an abort
 * during a delay or between items ends the stream with the signal's reason.
 */
export class ScriptedModel implements LanguageModel {
  readonly id: string;
  readonly capabilities: ModelCapabilities;
  /** Every request received, in order. */
  readonly requests: ModelRequest[] = [];
  /** Streams that ended early with their signal aborted (thrown out of, or closed by the consumer). */
  aborted = 0;
  /** Streams that ran to their end. */
  completed = 0;
  private readonly steps: ScriptStep[];
  private readonly whenExhausted: 'throw' | 'repeat-last';

  constructor(options: ScriptedModelOptions) {
    this.steps = options.steps;
    this.id = options.id ?? 'scripted';
    this.whenExhausted = options.whenExhausted ?? 'throw';
    this.capabilities = { images: true, tools: true, logprobs: false, rawPrompt: false, ...options.capabilities };
  }

  /** Convenience: a model that answers every request with the same text. */
  static replying(text: string, options: { chunk?: number; delayMs?: number } = {}): ScriptedModel {
    return new ScriptedModel({ steps: [say(text, options)], whenExhausted: 'repeat-last' });
  }

  async *stream(request: ModelRequest, options: StreamOptions = {}): AsyncIterable<ModelEvent> {
    const index = this.requests.length;
    this.requests.push(structuredClone(request));
    const step = this.steps[index] ?? (this.whenExhausted === 'repeat-last' ? this.steps[this.steps.length - 1] : undefined);
    if (!step) {
      throw new AgentError('scripted-model-exhausted', `ScriptedModel has ${this.steps.length} scripted steps but was asked for step ${index + 1}.`);
    }
    const items = typeof step === 'function' ? step(request, index) : step;
    const signal = options.signal;
    const usage: Usage = { inputTokens: estimateTokens(request), outputTokens: 0 };
    let sawToolCall = false;
    let finished = false;
    try {
      for (const [i, item] of items.entries()) {
        throwIfAborted(signal);
        switch (item.type) {
          case 'delay':
            await sleep(item.ms, signal);
            break;
          case 'text':
            usage.outputTokens += 1;
            yield { type: 'text-delta', text: item.text };
            break;
          case 'tool-call':
            sawToolCall = true;
            // A call is written out by the model too: about one token per four characters of it.
            usage.outputTokens += Math.max(1, Math.ceil(JSON.stringify({ name: item.name, parameters: item.arguments ?? {} }).length / 4));
            yield { type: 'tool-call', call: { id: item.id ?? `call_${index}_${i}`, name: item.name, arguments: item.arguments } };
            break;
          case 'tool-call-error':
            usage.outputTokens += Math.max(1, Math.ceil(item.raw.length / 4));
            yield { type: 'tool-call-error', raw: item.raw, message: item.message };
            break;
          case 'error':
            throw typeof item.error === 'string' ? new AgentError('scripted-model-error', item.error) : item.error;
          case 'finish':
            finished = true;
            this.completed += 1;
            yield { type: 'finish', reason: item.reason ?? (sawToolCall ? 'tool-calls' : 'stop'), usage: item.usage ?? usage };
            return;
        }
      }
      throwIfAborted(signal);
      finished = true;
      this.completed += 1;
      yield { type: 'finish', reason: sawToolCall ? 'tool-calls' : 'stop', usage };
    } finally {
      if (!finished && signal?.aborted) this.aborted += 1;
    }
  }
}

function estimateTokens(request: ModelRequest): number {
  return Math.ceil(JSON.stringify(request.messages ?? request.prompt ?? []).length / 4);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** node's abortable timer; an abort rethrows the signal's own reason, as a real model stream does. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    throw error;
  }
}
