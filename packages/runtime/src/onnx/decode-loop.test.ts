import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs } from './verify.js';

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
});
