// Safetensors test support: the reference checkpoints, temp directories, hand-built files.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REFERENCE_DIR, REFERENCE_MLLAMA_DIR as REFERENCE_MLLAMA } from './reference-model-dir.js';

export { REFERENCE_DIR, REFERENCE_MLLAMA };
export const HAVE_REFERENCE = existsSync(path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors'));

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lookout-weights-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A safetensors file from a literal header object and data bytes (for malformed-file tests). */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Buffer {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}
