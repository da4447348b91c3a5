import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs } from './verify.js';
import { applyRepetitionPenalty } from '../sampling/processors.js';
import { chooseToken } from './token-choice.js';
import { gaussian } from '../testing/checkpoints.js';

const REF = join(import.meta.dirname, '../../../../../shared/reference/mllama');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('in-graph greedy decode loop (KV cache as Loop state)', () => {
  for (const name of ['tiny-text', 'tiny-a']) {
    it(`${name}: 12 greedy tokens in one run equal HF's, and the session continues as after 12 steps`, async () => {
      const dir = join(REF, name);
      const out = mkdtempSync(join(tmpdir(), 'lookout-loop-'));
      dirs.push(out);
      const built = await buildModel(dir, { outDir: out });
      expect(built.manifest.greedyLoop).toBe(true);
      const engine = await OnnxEngine.load(out);
      try {
        const { inputIds, vision } = await readCaseInputs(dir);
        const expected = (JSON.parse(readFileSync(join(dir, 'generation.json'), 'utf8')) as { new_token_ids: number[] }).new_token_ids;

        const looped = await engine.prefill(inputIds, vision);
        const tokens = await looped.greedy(12);
        expect(tokens).toEqual(expected);
        const loopBytes = looped.lastTransferBytes;

        // The same 12 tokens one step() per token: each run moves the whole cache and logits.
        const stepped = await engine.prefill(inputIds, vision);
        let stepBytes = 0;
        let logits = stepped.logits;
        for (const t of expected) {
          logits = await stepped.step(t);
          stepBytes += stepped.lastTransferBytes;
        }
        expect(loopBytes * 6).toBeLessThan(stepBytes);
        // Both sessions now hold the same cache: the next logits agree.
        let first = 0;
        for (let i = 0; i < logits.length; i++) first = Math.max(first, Math.abs(logits[i] - looped.logits[i]));
        expect(first).toBeLessThan(1e-4);
        const a = await looped.step(expected[0]);
        const b = await stepped.step(expected[0]);
        let max = 0;
        for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        expect(max).toBeLessThan(1e-4);
      } finally {
        await engine.dispose();
      }
    }, 60_000);
  }

  it('samples in the graph (temperature, top-k, top-p, caller uniforms) exactly as step() + the same choice in JS', async () => {
    const dir = join(REF, 'tiny-a');
    const out = mkdtempSync(join(tmpdir(), 'lookout-loop-sample-'));
    dirs.push(out);
    await buildModel(dir, { outDir: out });
    const engine = await OnnxEngine.load(out);
    try {
      const { inputIds, vision } = await readCaseInputs(dir);
      const g = gaussian(99);
      const uniforms = Array.from({ length: 10 }, () => (Math.abs(g()) * 0.37) % 1);
      const params = { temperature: 0.7, topK: 40, topP: 0.9 };
      const looped = await engine.prefill(inputIds, vision);
      const tokens = await looped.decode(10, params, uniforms);
      const stepped = await engine.prefill(inputIds, vision);
      const expected: number[] = [];
      let logits = stepped.logits;
      for (let i = 0; i < 10; i++) {
        expected.push(chooseToken(logits, params, uniforms[i]));
        logits = await stepped.step(expected[i]);
      }
      expect(tokens).toEqual(expected);
      expect(new Set(tokens).size).toBeGreaterThan(1);

      // With HF's repetition penalty over the prompt and every token so far, the same holds
      // against the JS processor (applyRepetitionPenalty) followed by the same choice.
      const penalized = { ...params, repetitionPenalty: 0.3 }; // below 1: favours seen ids, so it shows
      const loopedP = await engine.prefill(inputIds, vision);
      const tokensP = await loopedP.decode(10, penalized, uniforms, inputIds);
      const steppedP = await engine.prefill(inputIds, vision);
      const seen = [...inputIds];
      const expectedP: number[] = [];
      logits = steppedP.logits;
      for (let i = 0; i < 10; i++) {
        expectedP.push(chooseToken(applyRepetitionPenalty(logits.slice(), seen, 0.3), params, uniforms[i]));
        seen.push(expectedP[i]);
        logits = await steppedP.step(expectedP[i]);
      }
      expect(tokensP).toEqual(expectedP);
      expect(tokensP).not.toEqual(tokens); // the penalty changed something
    } finally {
      await engine.dispose();
    }
  }, 60_000);
});

describe('chooseToken', () => {
  const logits = [0.1, 3, 2.9, -1, 2.5];
  it('top_k 1 is argmax whatever the uniform', () => {
    for (const u of [0, 0.5, 0.999]) expect(chooseToken(logits, { temperature: 1, topK: 1, topP: 1 }, u)).toBe(1);
  });
  it('walks the sorted distribution by the uniform and respects top-p', () => {
    expect(chooseToken(logits, { temperature: 1, topK: 0, topP: 1 }, 0)).toBe(1);
    expect(chooseToken(logits, { temperature: 1, topK: 0, topP: 1 }, 0.999)).toBe(3);
    // top_p small keeps only the most likely token
    expect(chooseToken(logits, { temperature: 1, topK: 0, topP: 0.01 }, 0.999)).toBe(1);
    // top_k 3 never returns the 4th or 5th most likely
    expect([1, 2, 4]).toContain(chooseToken(logits, { temperature: 1, topK: 3, topP: 1 }, 0.999));
  });
});
