import { afterEach, describe, expect, it } from 'vitest';
import { EngineWorkerError } from '../errors.js';
import { generate } from '../generate.js';
import { ByteTableTokenizer } from '../../testing/byte-tokenizer.js';
import { ScriptedEngine, type ScriptedEngineOptions } from '../../testing/scripted-engine.js';
import { WorkerEngine } from './worker-engine.js';
import { runtimeModuleUrl } from './spawn.js';

const tok = new ByteTableTokenizer(['<eos>', 'a', 'b', 'c', 'd']);
const engines: WorkerEngine[] = [];

async function start(options: ScriptedEngineOptions & { failWith?: { code: string; message: string } }) {
  const engine = await WorkerEngine.start({
    module: runtimeModuleUrl('testing/scripted-engine').href,
    exportName: 'ScriptedEngine',
    method: 'create',
    args: [options],
  });
  engines.push(engine);
  return engine;
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.dispose()));
});

describe('WorkerEngine', () => {
  it('proxies prefill/step with logits moved, not copied, across the thread boundary', async () => {
    const options = { vocabSize: 5000, script: [1, 2, 3, 4, 1, 0] };
    const local = await generate(new ScriptedEngine(options), tok, { inputIds: [1, 2], eosIds: [0] });
    const engine = await start(options);
    expect(engine.vocabSize).toBe(5000);
    const remote = await generate(engine, tok, { inputIds: [1, 2], eosIds: [0], decodeInEngine: false });
    expect(remote.tokenIds).toEqual(local.tokenIds);
    expect(remote.text).toBe('abcda');
    // per step: the engine's own bytes (one int64 id in, logits out) plus the 8-byte id posted
    // to the worker; the logits themselves are moved
    expect(local.stepTransferBytes / 5).toBe(8 + 5000 * 4);
    expect(remote.stepTransferBytes / 5).toBe(8 + 5000 * 4 + 8);
  });

  it('runs the sampling loop in the worker with the same tokens as on this thread', async () => {
    const options = { vocabSize: 300, script: [1, 2, 3, 4, 1, 2, 3, 4] };
    const sampling = { temperature: 1.5, topK: 50, seed: 11 };
    const local = await generate(new ScriptedEngine(options), tok, { inputIds: [1], sampling, maxTokens: 8, topLogprobs: 2, keepFirstLogits: true });
    const engine = await start(options);
    const tokens: number[] = [];
    const remote = await generate(engine, tok, { inputIds: [1], sampling, maxTokens: 8, topLogprobs: 2, keepFirstLogits: true, onToken: (t) => void tokens.push(t.id) });
    expect(remote.tokenIds).toEqual(local.tokenIds);
    expect(tokens).toEqual(local.tokenIds);
    expect(remote.finishReason).toBe('length');
    expect(remote.firstLogits).toEqual(local.firstLogits);
    // only ids cross the thread boundary per token: engine bytes + 8
    expect(remote.stepTransferBytes).toBe(local.stepTransferBytes + 8 * 8);
  });

  it('moves the pixel buffer to the worker when the caller hands it over, copies it otherwise', async () => {
    const engine = await start({ vocabSize: 10, script: [1, 0] });
    const vision = () => ({ pixelValues: new Float32Array(1000), numImages: 1, maxTiles: 1, tileSize: 1, aspectRatioIds: [1], aspectRatioMask: [[1]], crossAttentionMask: [[[1]]] });
    const kept = vision();
    const copied = await generate(engine, tok, { inputIds: [1], vision: kept, eosIds: [0] });
    expect(kept.pixelValues.length).toBe(1000);
    const handed = vision();
    const moved = await generate(engine, tok, { inputIds: [1], vision: handed, eosIds: [0], transferInputs: true });
    expect(handed.pixelValues.length).toBe(0); // detached: now owned by the worker
    expect(moved.tokenIds).toEqual(copied.tokenIds);
    expect(copied.transferBytes - moved.transferBytes).toBe(4000);
  });

  it('stops the worker loop on a stop string and on abort', async () => {
    const engine = await start({ vocabSize: 10, script: [1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4], delayMs: 5 });
    const stopped = await generate(engine, tok, { inputIds: [1], stop: ['c'] });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe('ab');
    const controller = new AbortController();
    const aborted = await generate(engine, tok, {
      inputIds: [1],
      signal: controller.signal,
      onToken: (t) => {
        if (t.index === 1) controller.abort();
      },
    });
    expect(aborted.finishReason).toBe('abort');
    expect(aborted.tokenIds).toEqual([1, 2]);
    // an abort that lands while the worker is inside a forward pass
    const slow = await start({ vocabSize: 10, script: [1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4], delayMs: 100 });
    const timed = generate(slow, tok, { inputIds: [1], maxTokens: 12, signal: AbortSignal.timeout(50) });
    const timedResult = await timed;
    expect(timedResult.finishReason).toBe('abort');
    expect(timedResult.tokenIds.length).toBeLessThan(12);
    // the engine keeps serving after both
    expect((await generate(engine, tok, { inputIds: [1], maxTokens: 3 })).tokenIds).toEqual([1, 2, 3]);
  });

  it('keeps the main event loop free while a forward pass blocks the worker', async () => {
    // Each forward pass blocks its thread for 300 ms, as onnxruntime's session.run does.
    const firstEvent = async (engine: ScriptedEngine | WorkerEngine) => {
      const order: string[] = [];
      const prefill = engine.prefill([1]).then((s) => {
        order.push('prefill');
        s.dispose();
      });
      setTimeout(() => order.push('timer'), 0);
      await prefill;
      await new Promise((r) => setTimeout(r, 0));
      return order[0];
    };
    const options = { vocabSize: 10, script: [1], busyMs: 300 };
    expect(await firstEvent(new ScriptedEngine(options))).toBe('prefill'); // on this thread: the timer waits
    expect(await firstEvent(await start(options))).toBe('timer'); // in the worker: it fires at once
  });

  it('rejects with the engine error code when loading fails', async () => {
    const failing = start({ vocabSize: 10, script: [], failWith: { code: 'MODEL_NOT_BUILT', message: 'no graphs in /m' } });
    await expect(failing).rejects.toBeInstanceOf(EngineWorkerError);
    await expect(failing).rejects.toMatchObject({ code: 'MODEL_NOT_BUILT', message: 'no graphs in /m' });
  });

  it('passes step errors back with their code and keeps serving', async () => {
    const engine = await start({ vocabSize: 10, script: [1, 2] });
    const session = await engine.prefill([1]);
    await expect(session.step(-1)).rejects.toMatchObject({ code: 'BAD_TOKEN' });
    const logits = await session.step(1);
    expect(logits).toHaveLength(10);
    session.dispose();
    await expect(session.step(1)).rejects.toMatchObject({ code: 'SESSION_DISPOSED' });
  });

  it('fails a worker-side decode with the engine error code and keeps serving', async () => {
    const engine = await start({ vocabSize: 10, script: [1, 2, 3, 4], failAtStep: 2 });
    await expect(generate(engine, tok, { inputIds: [1], maxTokens: 4 })).rejects.toMatchObject({ code: 'ENGINE_TEST_FAILURE' });
    const again = await generate(engine, tok, { inputIds: [1], maxTokens: 1 });
    expect(again.tokenIds).toEqual([1]);
  });

  it('fails the running and every later call when the worker thread dies', async () => {
    const engine = await start({ vocabSize: 10, script: [1, 2, 3], exitAtStep: 2 });
    const session = await engine.prefill([1]);
    await session.step(1);
    await expect(session.step(2)).rejects.toMatchObject({ code: 'ENGINE_WORKER_EXITED' });
    await expect(engine.prefill([1])).rejects.toMatchObject({ code: 'ENGINE_WORKER_EXITED' });
  });

  it('fails pending and later calls clearly after dispose', async () => {
    const engine = await start({ vocabSize: 10, script: [1] });
    await engine.dispose();
    await expect(engine.prefill([1])).rejects.toMatchObject({ code: 'ENGINE_DISPOSED' });
  });
});
