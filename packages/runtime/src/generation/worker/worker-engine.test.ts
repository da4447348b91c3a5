import { afterEach, describe, expect, it } from 'vitest';
import { EngineWorkerError } from '../errors.js';
import { generate } from '../generate.js';
import { ByteTableTokenizer } from '../testing/byte-tokenizer.js';
import { ScriptedEngine, type ScriptedEngineOptions } from '../testing/scripted-engine.js';
import { WorkerEngine } from './worker-engine.js';
import { runtimeModuleUrl } from './spawn.js';

const tok = new ByteTableTokenizer(['<eos>', 'a', 'b', 'c', 'd']);
const engines: WorkerEngine[] = [];

async function start(options: ScriptedEngineOptions & { failWith?: { code: string; message: string } }) {
  const engine = await WorkerEngine.start({
    module: runtimeModuleUrl('generation/testing/scripted-engine').href,
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
  it('generates the same tokens as the engine run on this thread, with logits moved not copied', async () => {
    const options = { vocabSize: 5000, script: [1, 2, 3, 4, 1, 0] };
    const local = await generate(new ScriptedEngine(options), tok, { inputIds: [1, 2], eosIds: [0] });
    const engine = await start(options);
    expect(engine.vocabSize).toBe(5000);
    const remote = await generate(engine, tok, { inputIds: [1, 2], eosIds: [0], topLogprobs: 1 });
    expect(remote.tokenIds).toEqual(local.tokenIds);
    expect(remote.text).toBe('abcda');
    // per step: the engine's own bytes (one int64 id in, logits out) plus the 8-byte id posted
    // to the worker; the logits cross the thread boundary without a copy
    expect(remote.stepTransferBytes / 5).toBe(8 + 5000 * 4 + 8);
    expect(local.stepTransferBytes / 5).toBe(8 + 5000 * 4);
  });

  it('keeps the main event loop responsive while the worker blocks in forward passes', async () => {
    const engine = await start({ vocabSize: 100, script: [1, 1, 1, 1, 1, 1, 1, 1], busyMs: 40 });
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    const r = await generate(engine, tok, { inputIds: [1], maxTokens: 8 });
    clearInterval(timer);
    expect(r.tokenIds).toHaveLength(8);
    // each forward pass blocks its thread for 40 ms; the main loop must never be held that long
    expect(maxGap).toBeLessThan(35);
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
