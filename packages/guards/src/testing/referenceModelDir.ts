// A model directory over one of the shared tiny reference checkpoints (random weights, real
// Llama 3 vocabulary), for integration tests and benchmarks of guards on the in-process runtime.
import { copyFileSync, existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLlama3TokenizerFiles } from '@lookout/runtime';

export const REFERENCE_MLLAMA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../shared/reference/mllama');
export const REFERENCE_IMAGES = path.resolve(REFERENCE_MLLAMA, '../image_processor/images');

export function hasReferenceModels(): boolean {
  return existsSync(path.join(REFERENCE_MLLAMA, 'tiny-text', 'model.safetensors'));
}

/** Copies config files, links the weights and writes tokenizer files into a fresh temp directory. */
export function referenceModelDir(caseName: 'tiny-text' | 'tiny-a'): string {
  const source = path.join(REFERENCE_MLLAMA, caseName);
  const dir = mkdtempSync(path.join(tmpdir(), `lookout-guard-${caseName}-`));
  for (const file of ['config.json', 'generation_config.json']) copyFileSync(path.join(source, file), path.join(dir, file));
  symlinkSync(path.join(source, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const files = buildLlama3TokenizerFiles({ imageToken: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
  return dir;
}
