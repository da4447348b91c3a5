import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel, OpenAICompatibleModel, writeTinyCheckpoint, type ModelEvent, type ModelRequest } from '@lookout/runtime';
import { LookoutServer } from '@lookout/core/serve';
import { collect } from './serve-fixtures.js';

// The real in-process model behind `lookout serve`: whatever goes over HTTP must come back exactly
// as the model produced it in-process (greedy decoding, so both runs are deterministic).
let dir: string;
let model: OnnxModel;
let server: LookoutServer;
let served: OpenAICompatibleModel;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'serve-onnx-'));
  await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 7 });
  model = await OnnxModel.load(dir);
  server = new LookoutServer({ model, modelName: 'tiny-vision' });
  served = new OpenAICompatibleModel({ baseUrl: await server.listen(0), model: 'tiny-vision' });
});

afterAll(async () => {
  await server?.close();
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('lookout serve over the in-process OnnxModel (tiny Mllama checkpoint)', () => {
  /**
   * The events equal apart from log-probabilities, which agree to 1e-5, and from how many prompt
   * tokens came from the prefix cache (each run leaves the cache for the next).
   */
  const expectSameEvents = (actual: unknown, expected: unknown) => {
    const logprobs: number[][] = [[], []];
    const strip = (events: unknown, into: number[]) =>
      JSON.parse(JSON.stringify(events, (k, v) => (k === 'cachedInputTokens' ? undefined : k === 'logprob' && typeof v === 'number' ? (into.push(v), 0) : v)));
    expect(strip(actual, logprobs[0])).toEqual(strip(expected, logprobs[1]));
    expect(logprobs[0].length).toBe(logprobs[1].length);
    logprobs[0].forEach((v, i) => expect(v).toBeCloseTo(logprobs[1][i], 5));
  };

  it('streams the same tokens, token ids, log-probabilities and usage as the model in-process', async () => {
    const request: ModelRequest = {
      messages: [
        { role: 'system', content: 'Describe images.' },
        { role: 'user', content: 'What is this?' },
      ],
      sampling: { maxTokens: 6 },
      topLogprobs: 2,
    };
    const direct = await collect(model.stream(request));
    const overHttp = await collect(served.stream(request));
    expect(direct.at(-1)).toMatchObject({ type: 'finish' });
    expect(direct.filter((e) => e.type === 'token')).toHaveLength(6);
    // The second run reuses the first one's KV cache (the engine's prefix cache): the same
    // numbers up to float rounding, so log-probabilities are compared to 1e-5.
    expectSameEvents(overHttp, direct);
  });

  it('gives the same answer without streaming, and for raw prompts on /v1/completions', async () => {
    const request: ModelRequest = { messages: [{ role: 'user', content: 'hello' }], sampling: { maxTokens: 5 } };
    const text = (events: ModelEvent[]) => events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('');
    const direct = await collect(model.stream(request));
    const json = await collect(new OpenAICompatibleModel({ baseUrl: server.url, model: 'tiny-vision', stream: false }).stream(request));
    expect(text(json)).toBe(text(direct));
    expectSameEvents(json.at(-1), direct.at(-1));

    const raw: ModelRequest = { prompt: [{ type: 'template', text: '<|begin_of_text|>Hello' }], sampling: { maxTokens: 4 }, topLogprobs: 1 };
    // The completions format has no room for token ids: compare without them.
    const noIds = (events: ModelEvent[]) => JSON.parse(JSON.stringify(events, (k, v) => (k === 'id' ? undefined : v)));
    expectSameEvents(noIds(await collect(served.stream(raw))), noIds(await collect(model.stream(raw))));
  });
});
