import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OnnxModel, writeTinyCheckpoint, type ModelRequest, type Usage } from '@lookout/runtime';
import { LookoutServer, type LookoutServerOptions } from '@lookout/core/serve';
import { ScriptedModel, say, type ScriptItem } from '@lookout/core/testing';

/**
 * Servers for the client-compatibility suite. Each test file drives a real `lookout serve`
 * (LookoutServer over loopback) with one published client package:
 *
 * - a scripted server: a ScriptedModel that answers by what the request asks for, so a test
 *   knows the exact text, tool call, JSON and usage the client must hand back;
 * - a tiny server: the in-process OnnxModel on a tiny random Mllama checkpoint, where only the
 *   constrained decoder stands between random weights and schema-valid JSON or tool arguments.
 */

export const SCRIPTED = 'llama-vision';
export const TINY = 'tiny-vision';
export const API_KEY = 'sk-lookout-test';

/** A 1×1 PNG, as the data URL clients send. */
export const PNG_DATA_URL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
export const PNG_BYTES = new Uint8Array(Buffer.from(PNG_DATA_URL.split(',')[1], 'base64'));

/** Steps end with this usage, so clients' token counts can be asserted exactly. */
export const USAGE: Usage = { inputTokens: 21, outputTokens: 5 };
export const finish = (usage: Usage = USAGE): ScriptItem => ({ type: 'finish', usage });

/**
 * The scripted answer when none of a suite's own rules apply: to "slow", eight words 40 ms apart
 * (for abort tests: the first delta is "one "); else the user's images counted and measured,
 * else a greeting streamed in pieces of `chunk` characters.
 */
export function plainAnswer(request: ModelRequest, chunk?: number): ScriptItem[] {
  if (lastText(request) === 'slow') return say('one two three four five six seven eight', { chunk: 4, delayMs: 40 });
  const images = userImages(request);
  if (images.length) return [...say(`I see ${images.length} image of ${images[0].length} bytes.`), finish()];
  return [...say('Hello from Lookout.', { chunk }), finish()];
}

/** Closes the servers a suite started (those that did start). */
export async function closeServers(...servers: Array<Served | undefined>): Promise<void> {
  for (const server of servers) await server?.close();
}

/** What a scripted step answers, computed from the request the server handed the model. */
export type Answer = (request: ModelRequest, step: number) => ScriptItem[];

export interface Served {
  server: LookoutServer;
  /** Base URL ending in /v1, as every OpenAI client takes it. */
  baseURL: string;
  close(): Promise<void>;
}

export interface ScriptedServer extends Served {
  model: ScriptedModel;
}

/** A server over a ScriptedModel that can honour response_format and forced tool choices. */
export async function startScripted(answer: Answer, options: Partial<LookoutServerOptions> = {}): Promise<ScriptedServer> {
  const model = new ScriptedModel({ id: SCRIPTED, steps: [answer], whenExhausted: 'repeat-last', capabilities: { structuredOutput: true } });
  const server = new LookoutServer({ model, modelName: SCRIPTED, apiKeys: [API_KEY], keepAliveMs: 0, ...options });
  const baseURL = await server.listen(0);
  return { model, server, baseURL, close: () => server.close() };
}

export interface TinyServer extends Served {
  model: OnnxModel;
}

/** A server over the in-process OnnxModel on a tiny random Llama 3.2 Vision checkpoint. */
export async function startTiny(): Promise<TinyServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'clients-tiny-'));
  await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 7 });
  const model = await OnnxModel.load(dir);
  const server = new LookoutServer({ model, modelName: TINY, apiKeys: [API_KEY] });
  const baseURL = await server.listen(0);
  return {
    model,
    server,
    baseURL,
    close: async () => {
      await server.close();
      await model.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The last message's text as the model received it. */
export function lastText(request: ModelRequest): string {
  const last = request.messages?.at(-1);
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return last.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

/** True when the conversation ends with tool results: the model's turn to answer in words. */
export const afterToolResult = (request: ModelRequest): boolean => request.messages?.at(-1)?.role === 'tool';

/** The images of the last user message, as bytes. */
export function userImages(request: ModelRequest): Uint8Array[] {
  const user = request.messages?.filter((m) => m.role === 'user').at(-1);
  if (!user || typeof user.content === 'string') return [];
  return user.content.flatMap((p) => (p.type === 'image' && typeof p.image !== 'string' ? [p.image] : []));
}
