import cliProgress from 'cli-progress';
import { buildModel, type BuildDtype, type BuildProgress } from '@lookout/runtime';
import { CliUsageError, parseCliArgs, type CliCommand } from '../command.js';

const DTYPES: BuildDtype[] = ['fp32', 'fp16', 'int4'];

const usage = `Usage:
  lookout build <model-dir> [--dtype fp32|fp16|int4] [--compute f32|f16] [--out <dir>] [--quiet]
                [--lm-head f16|int8|int4] [--accuracy-level 0|4] [--embeddings f16|int8|int4]
                [--block-size 32|64|128]

Writes ONNX graphs for a Hugging Face checkpoint directory (config.json + *.safetensors):
Llama 3.2 Vision / Llama Guard 3 Vision (MllamaForConditionalGeneration) get vision.onnx and
decoder.onnx, Llama 3.x / Llama Guard 3 1B/8B (LlamaForCausalLM) get decoder.onnx. Weights stream
into one external-data file (weights.onnx.data); memory stays bounded by the largest tensor.

--dtype <d>   fp32 (default; matches transformers), fp16 (f16 weights, activations and KV cache; the CUDA build),
              int4 (MatMulNBits 4-bit blocks for linear layers; lm_head as --lm-head says)
--compute <c> Activations and KV cache: f16 (default for fp16) or f32 (default for fp32, int4).
              For CUDA build fp16, or int4 with --compute f16: onnxruntime's CUDA
              GroupQueryAttention runs only in f16, so f32 graphs would run it on the CPU.
--lm-head <s> int4 builds: lm_head as f16, or MatMulNBits 8-bit or 4-bit blocks
              (default int8 with f32 compute, f16 with f16 compute; docs/run-llama-vision.md)
--accuracy-level <n>
              int4 builds: MatMulNBits accuracy_level, 0 (compute in the input type) or 4
              (int8 activations; default with f32 compute)
--embeddings <s>
              int4 builds: the token embedding table as f16, or 8-bit or 4-bit blocks
              (GatherBlockQuantized; default int8 with f32 compute, f16 with f16 compute)
--block-size <n>
              int4 builds: weights per quantisation block, 32 (default), 64 or 128; larger
              blocks are smaller and faster to read, at some cost in quality
--out <dir>   Output directory (default <model-dir>/onnx-<dtype>, where OnnxEngine.load looks)
--plain       Plain ONNX ops only (no GroupQueryAttention / SimplifiedLayerNormalization)
--quiet       No progress bar
`;

const command: CliCommand = {
  name: 'build',
  summary: 'Build ONNX graphs from a Llama / Llama 3.2 Vision checkpoint',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCliArgs(
      argv,
      { dtype: { type: 'string', default: 'fp32' }, compute: { type: 'string' }, out: { type: 'string' }, 'lm-head': { type: 'string' }, 'accuracy-level': { type: 'string' }, embeddings: { type: 'string' }, 'block-size': { type: 'string' }, plain: { type: 'boolean', default: false }, quiet: { type: 'boolean', default: false } },
      true,
    );
    if (positionals.length !== 1) throw new CliUsageError(`expected exactly one <model-dir>, got ${positionals.length}`);
    const dtype = values.dtype as BuildDtype;
    if (!DTYPES.includes(dtype)) throw new CliUsageError(`--dtype "${values.dtype}" is not accepted; use one of ${DTYPES.join(', ')}`);
    const compute = values.compute;
    if (compute !== undefined && compute !== 'f32' && compute !== 'f16') throw new CliUsageError(`--compute "${compute}" is not accepted; use f32 or f16`);
    if (dtype === 'fp32' && compute === 'f16') throw new CliUsageError('--dtype fp32 --compute f16 is what --dtype fp16 builds; use --dtype fp16');
    const lmHead = values['lm-head'];
    if (lmHead !== undefined && lmHead !== 'f16' && lmHead !== 'int8' && lmHead !== 'int4') throw new CliUsageError(`--lm-head "${lmHead}" is not accepted; use f16, int8 or int4`);
    const level = values['accuracy-level'];
    if (level !== undefined && level !== '0' && level !== '4') throw new CliUsageError(`--accuracy-level "${level}" is not accepted; use 0 or 4`);
    const embeddings = values.embeddings;
    if (embeddings !== undefined && embeddings !== 'f16' && embeddings !== 'int8' && embeddings !== 'int4') throw new CliUsageError(`--embeddings "${embeddings}" is not accepted; use f16, int8 or int4`);
    const blockSize = values['block-size'];
    if (blockSize !== undefined && blockSize !== '32' && blockSize !== '64' && blockSize !== '128') throw new CliUsageError(`--block-size "${blockSize}" is not accepted; use 32, 64 or 128`);
    if ((lmHead !== undefined || level !== undefined || embeddings !== undefined || blockSize !== undefined) && dtype !== 'int4') {
      throw new CliUsageError('--lm-head, --accuracy-level, --embeddings and --block-size apply to --dtype int4 only');
    }
    const int4 = {
      ...(lmHead ? { lmHead: lmHead as 'f16' | 'int8' | 'int4' } : {}),
      ...(level ? { accuracyLevel: Number(level) as 0 | 4 } : {}),
      ...(embeddings ? { embeddings: embeddings as 'f16' | 'int8' | 'int4' } : {}),
      ...(blockSize ? { blockSize: Number(blockSize) as 32 | 64 | 128 } : {}),
    };

    const showBar = !values.quiet;
    const bar = new cliProgress.SingleBar(
      { format: 'build [{bar}] {percentage}% | {value}/{total} tensors | {mb} MB written', stream: io.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    const onProgress = (p: BuildProgress) => {
      if (!showBar) return;
      const mb = (p.bytesWritten / 1e6).toFixed(0);
      if (!started) {
        bar.start(p.tensorsTotal, 0, { mb });
        started = true;
      }
      bar.update(p.tensorsDone, { mb });
    };
    const t0 = performance.now();
    try {
      const result = await buildModel(positionals[0], { dtype, compute, outDir: values.out, fused: !values.plain, onProgress, ...(Object.keys(int4).length ? { int4 } : {}) });
      if (started) bar.stop();
      const secs = (performance.now() - t0) / 1000;
      const m = result.manifest;
      io.stdout.write(
        `built ${m.spec.arch} (${m.dtype}, ${m.computeType === 'float16' ? 'f16' : 'f32'} compute${m.int4 ? `, lm_head ${m.int4.lmHead}, accuracy level ${m.int4.accuracyLevel}, embeddings ${m.int4.embeddings}, blocks of ${m.int4.blockSize ?? 32}` : ''}) in ${secs.toFixed(1)} s: ${[m.vision, m.decoder].filter(Boolean).join(', ')} + ${m.data} ` +
          `(${(result.bytesWritten / 1e6).toFixed(1)} MB, ${result.tensors} tensors) -> ${result.outDir}\n`,
      );
      return 0;
    } catch (err) {
      if (started) bar.stop();
      throw err;
    }
  },
};

export default command;
