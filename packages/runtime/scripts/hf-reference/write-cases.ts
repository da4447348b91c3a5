/**
 * Writes every parity case of src/onnx/fixtures/hf-cases.ts to <outDir>/<name>/: the tiny
 * checkpoint (writeTinyCheckpoint), inputs.json and pixel_values.f32 (raw little-endian
 * float32, [1, n_img, maxTiles, 3, S, S]). make_fixtures.py reads these back.
 *   node --import tsx packages/runtime/scripts/hf-reference/write-cases.ts /tmp/hf-cases
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeTinyCheckpoint } from '../../src/tiny/index.js';
import { HF_CASES, caseVisionInputs } from '../../src/onnx/fixtures/hf-cases.js';

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: write-cases.ts <outDir>');
  process.exit(2);
}
for (const c of HF_CASES) {
  const dir = path.join(outDir, c.name);
  const ckpt = await writeTinyCheckpoint(dir, c.checkpoint);
  const v = ckpt.sizes.vision;
  const vision = v ? caseVisionInputs(c, v.imageSize, v.maxNumTiles) : undefined;
  if (vision) await writeFile(path.join(dir, 'pixel_values.f32'), Buffer.from(vision.pixelValues.buffer, vision.pixelValues.byteOffset, vision.pixelValues.byteLength));
  const inputs = {
    name: c.name,
    description: c.description,
    checkpoint: c.checkpoint,
    pixel_seed: c.pixelSeed,
    input_ids: c.inputIds,
    ...(vision && {
      pixel_values_shape: [1, vision.numImages, vision.maxTiles, 3, vision.tileSize, vision.tileSize],
      aspect_ratio_ids: vision.aspectRatioIds,
      aspect_ratio_mask: vision.aspectRatioMask,
      cross_attention_mask: vision.crossAttentionMask,
    }),
  };
  await writeFile(path.join(dir, 'inputs.json'), `${JSON.stringify(inputs)}\n`);
  console.log(`${c.name}: ${ckpt.tensorCount} tensors, ${ckpt.weightBytes} bytes -> ${dir}`);
}
