// The next step of an agent loop sends the same conversation plus a little more (a tool call
// and its result). With the engine's prefix cache only the new tokens are fed, and the same
// images are not encoded again. Rows: time to the first logits of that next prompt, cached
// against a fresh prefill on the same build in the same process.
// - text: a random Llama (hidden 512, 4 layers, 32k vocabulary), a 1024-token conversation
//   then 48 new tokens;
// - image: a random Mllama with 4 tiles of 224 px (vision hidden 256, 4 + 2 layers), a
//   256-token conversation with one image, then 48 new tokens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildModel, OnnxEngine, writeTinyCheckpoint, type VisionInputs } from '@lookout/runtime';
import type { Bench } from './report.js';

const ROUNDS = 5;
const NEW_TOKENS = 48;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + (i % 20000));

/** Median ms to the next prompt's logits: cached (after the conversation so far) and fresh. */
async function measure(dir: string, conversation: number[], next: number[], vision?: (rows: number) => VisionInputs) {
  const cached = await OnnxEngine.load(dir, { intraOpThreads: 1 });
  const fresh = await OnnxEngine.load(dir, { intraOpThreads: 1, prefixCache: false });
  const times = { cached: [] as number[], fresh: [] as number[] };
  let reused = 0;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      cached.clearPrefixCache();
      (await cached.prefill(conversation, vision?.(conversation.length))).dispose();
      let t = performance.now();
      const a = await cached.prefill(next, vision?.(next.length));
      times.cached.push(performance.now() - t);
      reused = a.reusedPositions;
      a.dispose();
      t = performance.now();
      (await fresh.prefill(next, vision?.(next.length))).dispose();
      times.fresh.push(performance.now() - t);
    }
  } finally {
    await cached.dispose();
    await fresh.dispose();
  }
  return { cached: median(times.cached), fresh: median(times.fresh), reused };
}

const bench: Bench = async (report) => {
  const root = mkdtempSync(path.join(tmpdir(), 'lookout-bench-prefix-'));
  try {
    const text = path.join(root, 'llama');
    await writeTinyCheckpoint(text, { arch: 'llama', hidden: 512, heads: 8, kvHeads: 2, layers: 4, intermediate: 1376, tokenizer: false });
    await buildModel(text, { outDir: path.join(text, 'onnx-fp32') });
    const conversation = ids(1000, 1024);
    const t = await measure(text, conversation, [...conversation, ...ids(30000, NEW_TOKENS)]);
    report({
      name: `text, next prompt (+${NEW_TOKENS} tokens after ${conversation.length}), prefix cache`,
      value: t.cached,
      unit: 'ms',
      baseline: { name: 'fresh prefill of the whole prompt', value: t.fresh },
      note: `${t.reused} positions reused; median of ${ROUNDS}, one CPU thread`,
    });

    const mllama = path.join(root, 'mllama');
    const ckpt = await writeTinyCheckpoint(mllama, {
      arch: 'mllama',
      hidden: 256,
      heads: 8,
      kvHeads: 2,
      layers: 5,
      intermediate: 512,
      tokenizer: false,
      vision: { hidden: 256, heads: 8, layers: 4, globalLayers: 2, intermediate: 512, imageSize: 224, patchSize: 14, maxNumTiles: 4, intermediateLayersIndices: [1, 3] },
    });
    await buildModel(mllama, { outDir: path.join(mllama, 'onnx-fp32') });
    const v = ckpt.sizes.vision!;
    const pixels = new Float32Array(4 * 3 * v.imageSize * v.imageSize).map((_, i) => Math.sin(i * 0.01));
    const vision = (rows: number): VisionInputs => ({
      pixelValues: pixels,
      numImages: 1,
      maxTiles: 4,
      tileSize: v.imageSize,
      aspectRatioIds: [6],
      aspectRatioMask: [[1, 1, 1, 1]],
      crossAttentionMask: Array.from({ length: rows }, (_, r) => [r >= 1 ? [1, 1, 1, 1] : [0, 0, 0, 0]]),
    });
    const imgConversation = [128000, 128256, ...ids(1000, 254)];
    const m = await measure(mllama, imgConversation, [...imgConversation, ...ids(30000, NEW_TOKENS)], vision);
    report({
      name: `image (4 tiles of ${v.imageSize} px), next prompt (+${NEW_TOKENS} tokens after ${imgConversation.length}), prefix cache`,
      value: m.cached,
      unit: 'ms',
      baseline: { name: 'fresh prefill with the vision encoder', value: m.fresh },
      note: `${m.reused} positions reused, vision encoder skipped; median of ${ROUNDS}, one CPU thread`,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

export default bench;
