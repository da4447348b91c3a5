// Llama Guard over the real in-process runtime (OnnxModel) on the tiny reference checkpoints.
// Their weights are random, so the model answers nonsense: the guard must fail closed and say
// what came back, having sent the full prompt (with the image for 11B-Vision) and read tokens.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LlamaTokenizer, OnnxModel, type ModelRequest } from '@lookout/runtime';
import { REFERENCE_IMAGES, referenceModelDir, hasReferenceModels } from '../testing/reference-model-dir.js';
import { LlamaGuard } from './llama-guard.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!hasReferenceModels())('LlamaGuard on OnnxModel (tiny reference checkpoints)', () => {
  it('text: runs the prompt in-process and fails closed on a nonsense answer', async () => {
    const dir = referenceModelDir('tiny-text');
    dirs.push(dir);
    const model = await OnnxModel.load(dir, { intraOpThreads: 1 });
    try {
      const tokenizer = await LlamaTokenizer.fromDirectory(dir);
      const seen: ModelRequest[] = [];
      const spy = { id: model.id, capabilities: model.capabilities, stream: (r: ModelRequest, o?: { signal?: AbortSignal }) => (seen.push(r), model.stream(r, o)) };
      const guard = new LlamaGuard({ model: spy, variant: '1b', tokenizer, maxTokens: 6 });
      const v = await guard.check({ stage: 'input', conversation: [], content: { text: 'How do I bake bread?', images: [] } });
      expect(v).toMatchObject({ safe: false, failure: 'unparseable' });
      expect(v.reason).toMatch(/^Llama Guard answered ".*" \(finish: length\); expected "safe" or "unsafe\\nS1,S2"$/s);
      expect(seen[0].topLogprobs).toBe(20);
      expect(tokenizer.encodeSegments(seen[0].prompt!).length).toBeGreaterThan(150);
    } finally {
      await model.dispose();
    }
  });

  it('11B-Vision: one image per call through the vision path', async () => {
    const dir = referenceModelDir('tiny-a');
    dirs.push(dir);
    const model = await OnnxModel.load(dir, { intraOpThreads: 1 });
    try {
      const image = new Uint8Array(readFileSync(path.join(REFERENCE_IMAGES, 'img3_1500x1000_rgb.png')));
      const guard = new LlamaGuard({ model, variant: '11b-vision', scoreOnly: true });
      const v = await guard.check({ stage: 'input', conversation: [], content: { text: 'What is in this photo?', images: [image, image] } });
      // Two calls ran (worst wins); random weights put neither safe nor unsafe in the top 20.
      expect(v.verdicts).toHaveLength(2);
      expect(v).toMatchObject({ safe: false, failure: 'unparseable' });
    } finally {
      await model.dispose();
    }
  });
});
