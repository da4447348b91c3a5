/**
 * Turns one of the shared reference checkpoints (../shared/reference/mllama/<case>) into a
 * complete model directory in a temp folder: its config files, its weights (linked, not
 * copied) and Llama 3 tokenizer files, as a downloaded checkpoint would have them.
 */
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLlama3TokenizerFiles } from '../../tokenizer/index.js';

export const REFERENCE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../../shared/reference/mllama');

export interface ReferenceGeneration {
  prompt_input_ids: number[];
  new_token_ids: number[];
}

export function referenceGeneration(caseName: string): ReferenceGeneration {
  return JSON.parse(readFileSync(path.join(REFERENCE_ROOT, caseName, 'generation.json'), 'utf8')) as ReferenceGeneration;
}

export function referenceModelDir(caseName: 'tiny-text' | 'tiny-a'): string {
  const source = path.join(REFERENCE_ROOT, caseName);
  const dir = mkdtempSync(path.join(tmpdir(), `lookout-${caseName}-`));
  for (const file of ['config.json', 'generation_config.json']) copyFileSync(path.join(source, file), path.join(dir, file));
  symlinkSync(path.join(source, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const files = buildLlama3TokenizerFiles({ imageToken: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
  return dir;
}
