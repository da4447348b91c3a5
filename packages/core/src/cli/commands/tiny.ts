import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CliCommand } from '../command.js';
import { CliUsageError, parseCliArgs } from '../command.js';

const usage = `Usage:
  lookout tiny <dir> [--arch mllama|llama] [--seed N] [--dtype f32|f16|bf16] [options]

Writes a tiny, randomly initialised checkpoint in the Hugging Face layout of Llama 3.2 Vision
(mllama) or Llama 3 (llama): config.json, generation_config.json, model.safetensors,
tokenizer.json, tokenizer_config.json and, for mllama, preprocessor_config.json. Parameter
names, the 128256-token vocabulary and special-token ids are the real ones; sizes are tiny.
The same options and seed always give identical files.

  --arch <a>            mllama (default) or llama
  --seed <n>            PRNG seed, 0..4294967295 (default 0)
  --dtype <d>           on-disk weights: f32 (default), f16 or bf16
  --hidden <n>          text hidden size (default 32)
  --layers <n>          text decoder layers (default 5 for mllama, 2 for llama)
  --heads <n>           attention heads (default 4)
  --kv-heads <n>        key/value heads (default 2)
  --intermediate <n>    MLP size (default 128)
  --cross-layers <l>    mllama: comma-separated cross-attention layers (default: odd indices)
  --vision-hidden <n>   mllama: vision hidden size (default 32)
  --vision-layers <n>   mllama: local vision layers (default 4)
  --global-layers <n>   mllama: global vision layers (default 2)
  --tiles <n>           mllama: max tiles per image (default 4)
  --tie                 llama: tie lm_head to embed_tokens
  --no-tokenizer        skip tokenizer.json / tokenizer_config.json
  --force               write into a directory that already holds a config.json
`;

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliUsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
};

const tiny: CliCommand = {
  name: 'tiny',
  summary: 'write a tiny random Mllama / Llama checkpoint (HF layout) for tests',
  usage,
  async run(argv, io) {
    let opts;
    try {
      const { values, positionals } = parseCliArgs(
        argv,
        {
          arch: { type: 'string' },
          seed: { type: 'string' },
          dtype: { type: 'string' },
          hidden: { type: 'string' },
          layers: { type: 'string' },
          heads: { type: 'string' },
          'kv-heads': { type: 'string' },
          intermediate: { type: 'string' },
          'cross-layers': { type: 'string' },
          'vision-hidden': { type: 'string' },
          'vision-layers': { type: 'string' },
          'global-layers': { type: 'string' },
          tiles: { type: 'string' },
          tie: { type: 'boolean' },
          'no-tokenizer': { type: 'boolean' },
          force: { type: 'boolean' },
        },
        true,
      );
      if (positionals.length !== 1) throw new CliUsageError('expected exactly one output directory');
      const arch = values.arch ?? 'mllama';
      if (arch !== 'mllama' && arch !== 'llama') throw new CliUsageError(`--arch must be mllama or llama, got "${arch}"`);
      const dtype = values.dtype ?? 'f32';
      if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16') throw new CliUsageError(`--dtype must be f32, f16 or bf16, got "${dtype}"`);
      const crossLayers = values['cross-layers'];
      if (crossLayers !== undefined && !/^\d+(,\d+)*$/.test(crossLayers)) {
        throw new CliUsageError(`--cross-layers must be comma-separated layer indices like 1,3, got "${crossLayers}"`);
      }
      const visionSet = ['vision-hidden', 'vision-layers', 'global-layers', 'tiles'].some((k) => values[k as keyof typeof values] !== undefined);
      opts = {
        dir: positionals[0],
        force: values.force ?? false,
        checkpoint: {
          arch: arch as 'mllama' | 'llama',
          dtype: dtype as 'f32' | 'f16' | 'bf16',
          seed: int('seed', values.seed),
          hidden: int('hidden', values.hidden),
          layers: int('layers', values.layers),
          heads: int('heads', values.heads),
          kvHeads: int('kv-heads', values['kv-heads']),
          intermediate: int('intermediate', values.intermediate),
          crossAttentionLayers: crossLayers?.split(',').map(Number),
          tieWordEmbeddings: values.tie,
          tokenizer: !values['no-tokenizer'],
          vision: visionSet
            ? {
                hidden: int('vision-hidden', values['vision-hidden']),
                layers: int('vision-layers', values['vision-layers']),
                globalLayers: int('global-layers', values['global-layers']),
                maxNumTiles: int('tiles', values.tiles),
              }
            : undefined,
        },
      };
    } catch (err) {
      io.stderr.write(`lookout tiny: ${(err as Error).message}\nRun \`lookout tiny --help\` for the options.\n`);
      return 2;
    }

    if (!opts.force && existsSync(path.join(opts.dir, 'config.json'))) {
      io.stderr.write(`lookout tiny: ${opts.dir} already holds a config.json; pass --force to overwrite it\n`);
      return 1;
    }
    // Drop undefined vision fields so the defaults apply.
    if (opts.checkpoint.vision) {
      opts.checkpoint.vision = Object.fromEntries(Object.entries(opts.checkpoint.vision).filter(([, v]) => v !== undefined)) as typeof opts.checkpoint.vision;
    }

    const { writeTinyCheckpoint, TinyCheckpointError } = await import('@lookout/runtime');
    try {
      const result = await writeTinyCheckpoint(opts.dir, opts.checkpoint);
      const s = result.sizes;
      io.stdout.write(
        `wrote ${s.arch} checkpoint to ${path.resolve(opts.dir)} (seed ${s.seed}, ${s.dtype}, ${result.tensorCount} tensors, ` +
          `${(result.weightBytes / 1e6).toFixed(1)} MB weights)\n` +
          `  text: hidden ${s.hidden}, layers ${s.layers}, heads ${s.heads}/${s.kvHeads}, mlp ${s.intermediate}` +
          (s.vision ? `, cross-attention layers [${s.crossAttentionLayers.join(', ')}]` : '') +
          '\n' +
          (s.vision
            ? `  vision: hidden ${s.vision.hidden}, heads ${s.vision.heads}, layers ${s.vision.layers}+${s.vision.globalLayers}, ` +
              `tile ${s.vision.imageSize}px, max tiles ${s.vision.maxNumTiles}\n`
            : '') +
          `  files: ${result.files.join(', ')}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof TinyCheckpointError) {
        io.stderr.write(`lookout tiny: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  },
};

export default tiny;
