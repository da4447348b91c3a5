/**
 * Test and benchmark support over the shared reference checkpoints (../shared/reference/mllama
 * beside the repository: random weights, real Llama 3 vocabulary). referenceModelDir turns one
 * into a complete model directory in a temp folder: its config files, its weights (linked, not
 * copied) and Llama 3 tokenizer files, as a downloaded checkpoint would have them.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLlama3TokenizerFiles } from '../tokenizer/index.js';

/** Reference checkpoints beside the repository (../shared/reference); LOOKOUT_REFERENCE_DIR overrides. */
export const REFERENCE_DIR =
  process.env.LOOKOUT_REFERENCE_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../shared/reference');
export const REFERENCE_MLLAMA_DIR = path.join(REFERENCE_DIR, 'mllama');
/** The images of the image-processor reference (two of the listed ones are not shipped). */
export const REFERENCE_IMAGES_DIR = path.resolve(REFERENCE_MLLAMA_DIR, '../image_processor/images');

export type ReferenceCase = 'tiny-text' | 'tiny-a';

/** Whether the reference checkpoints are on this machine (tests skip without them). */
export function hasReferenceModels(): boolean {
  return existsSync(path.join(REFERENCE_MLLAMA_DIR, 'tiny-text', 'model.safetensors'));
}

/** Prompt and greedy continuation Hugging Face transformers produced for a case. */
export interface ReferenceGeneration {
  prompt_input_ids: number[];
  new_token_ids: number[];
}

export function referenceGeneration(caseName: string): ReferenceGeneration {
  return JSON.parse(readFileSync(path.join(REFERENCE_MLLAMA_DIR, caseName, 'generation.json'), 'utf8')) as ReferenceGeneration;
}

export interface ReferenceModelDirOptions {
  /** Start of the temp directory's name (default `lookout-<case>-`). */
  tempPrefix?: string;
}

/** A fresh temp model directory over a reference case; the caller removes it. */
export function referenceModelDir(caseName: ReferenceCase, options: ReferenceModelDirOptions = {}): string {
  const source = path.join(REFERENCE_MLLAMA_DIR, caseName);
  const dir = mkdtempSync(path.join(tmpdir(), options.tempPrefix ?? `lookout-${caseName}-`));
  for (const file of ['config.json', 'generation_config.json']) copyFileSync(path.join(source, file), path.join(dir, file));
  symlinkSync(path.join(source, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const files = buildLlama3TokenizerFiles({ imageToken: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
  return dir;
}
