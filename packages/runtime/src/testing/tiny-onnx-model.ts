import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { OnnxModel } from '../generation/model/onnx-model.js';
import type { OnnxModelLoadOptions } from '../generation/model/load-onnx-model.js';
import { writeTinyCheckpoint, type TinyCheckpointOptions } from '../tiny/index.js';

/**
 * A tiny generated checkpoint loaded as an OnnxModel for the calling test file (or describe
 * block): written and loaded before its tests, disposed and removed after them. Returns a getter,
 * since the model exists only once the tests run; `.dir()` is the checkpoint's directory.
 */
export type TinyOnnxModel = (() => OnnxModel) & { dir(): string };

export function useTinyOnnxModel(checkpoint: TinyCheckpointOptions, load: OnnxModelLoadOptions = {}): TinyOnnxModel {
  let dir: string | undefined;
  let model: OnnxModel | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `lookout-tiny-${checkpoint.arch}-`));
    await writeTinyCheckpoint(dir, checkpoint);
    model = await OnnxModel.load(dir, load);
  }, 180_000);
  afterAll(async () => {
    await model?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const notYet = () => new Error('useTinyOnnxModel: the model is loaded in beforeAll; use it inside a test');
  const get = () => {
    if (!model) throw notYet();
    return model;
  };
  return Object.assign(get, {
    dir: () => {
      if (!dir) throw notYet();
      return dir;
    },
  });
}
