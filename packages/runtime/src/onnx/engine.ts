import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DecodeSession, ForwardEngine, VisionInputs } from '../model/engine.js';
import { MANIFEST_FILE, type BuildManifest } from './build.js';
import type { BuildDtype } from './weights.js';
import { DecoderIO } from './text-graph.js';
import { LoopIO } from './decode-loop.js';
import { chooseToken, SampleIO, type SampleParams } from './token-choice.js';
import { VisionIO } from './vision-io.js';
import { crossAttentionMask4d } from './cross-mask.js';
import { OnnxError } from './errors.js';
import { warnOnProviderMismatch } from './provider-fit.js';
// The same rule as the graph's penalizeInGraph (f32 penalty), in JS for a chunk's first token.
import { applyRepetitionPenalty } from '../sampling/processors.js';
import { PrefixStore, truncateKv, visionKey, type CachedPrefix } from './prefix-cache.js';

export interface OnnxEngineOptions {
  executionProvider?: 'cpu' | 'cuda';
  /** Which build to load when `dir` is the model directory (`<dir>/onnx-<dtype>`). */
  dtype?: BuildDtype;
  /** Threads per session on CPU (default: onnxruntime's choice). */
  intraOpThreads?: number;
  /**
   * Keep the KV caches of finished sessions and reuse the longest common prefix with a new prompt
   * (same images), so an agent's next step feeds only the new tokens and skips the vision encoder
   * (default true; see prefix-cache.ts). The caches stay in memory, within prefixCacheBytes.
   */
  prefixCache?: boolean;
  /** Bytes the cached prefixes may hold together (default 1 GiB; the latest is always kept). */
  prefixCacheBytes?: number;
  /**
   * Most prompt tokens one forward run takes (default 1024). A longer prompt is fed in chunks, each
   * attending to the KV cache of the ones before, so activations (attention scores, MLP states)
   * are bounded by the chunk and peak memory grows linearly with the prompt, not quadratically.
   */
  prefillChunkTokens?: number;
  /**
   * Bytes one layer's attention scores may take in a prefill run (default 256 MiB): the chunk
   * shrinks (down to 32 tokens) so that heads × chunk × columns × 4 stays within it, where
   * columns are the positions so far or the image tokens (Mllama's cross-attention).
   */
  prefillScoreBytes?: number;
  /**
   * Let onnxruntime repack weights into its GEMM layout at load. Packing keeps a second copy of
   * every packed weight beside the loaded one; without it MatMul reads the initializers where
   * they lie. Default: off for fp32/fp16 builds on CPU (half the resident memory, loads several
   * times faster, decode as fast; see docs/run-llama-vision.md), on for int4 builds, whose
   * MatMulNBits kernels need their packed layout to be fast.
   */
  prepackWeights?: boolean;
}

export interface PrefillOptions {
  signal?: AbortSignal;
  /** Return logits of every prompt position (verification); default only the last. */
  allLogits?: boolean;
}

type Feeds = Record<string, ort.Tensor>;

/** Finds the build directory: `dir` itself when it holds a manifest, else `dir/onnx-<dtype>`. */
export function resolveBuildDir(dir: string, dtype: BuildDtype = 'fp32'): string {
  if (existsSync(join(dir, MANIFEST_FILE))) return dir;
  const sub = join(dir, `onnx-${dtype}`);
  if (existsSync(join(sub, MANIFEST_FILE))) return sub;
  throw new OnnxError('ONNX_NOT_BUILT', `no ONNX build in ${dir} (looked for ${MANIFEST_FILE} there and in onnx-${dtype}/); run \`lookout build ${dir} --dtype ${dtype}\``);
}

/** ForwardEngine on onnxruntime-node: the decoder graph (and the vision graph for Mllama). */
export class OnnxEngine implements ForwardEngine {
  private disposed = false;

  private readonly prefixes: PrefixStore;
  /** What the decoder's loop can do (builds from before these inputs existed cannot). */
  readonly loopFeatures: { repetitionPenalty: boolean; logprobs: boolean };

  private constructor(
    readonly manifest: BuildManifest,
    private readonly decoder: ort.InferenceSession,
    private readonly vision: ort.InferenceSession | undefined,
    readonly prefixCacheEnabled: boolean,
    prefixCacheBytes: number,
    private readonly chunking: { tokens: number; scoreBytes: number } = { tokens: 1024, scoreBytes: 2 ** 28 },
  ) {
    this.prefixes = new PrefixStore(prefixCacheBytes);
    const inputs = new Set(decoder.inputNames);
    this.loopFeatures = { repetitionPenalty: inputs.has(SampleIO.repetitionPenalty), logprobs: inputs.has(SampleIO.topLogprobs) };
  }

  /** Drops the cached prefixes (their KV caches are freed with them). */
  clearPrefixCache(): void {
    this.prefixes.clear();
  }

  /** How many prefixes are cached and the bytes they hold. */
  get prefixCacheStats(): { entries: number; bytes: number } {
    return { entries: this.prefixes.size, bytes: this.prefixes.bytes };
  }

  /** Called by a session when it is disposed: its state becomes a prefix for later prompts. */
  rememberPrefix(prefix: CachedPrefix): void {
    if (this.prefixCacheEnabled && !this.disposed) this.prefixes.add(prefix);
  }

  static async load(dir: string, options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const buildDir = resolveBuildDir(dir, options.dtype);
    const manifest = JSON.parse(readFileSync(join(buildDir, MANIFEST_FILE), 'utf8')) as BuildManifest;
    const provider = options.executionProvider ?? 'cpu';
    warnOnProviderMismatch(manifest, provider);
    // int4 builds keep packing on: MatMulNBits without its packed layout is two orders slower.
    const prepackWeights = options.prepackWeights ?? (provider !== 'cpu' || manifest.dtype === 'int4');
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      ...(prepackWeights ? {} : { extra: { session: { disable_prepacking: '1' } } }),
      // On CPU an f16 graph runs through onnxruntime's inserted casts, and it warns once per f16
      // node it cannot constant-fold; those warnings say nothing the docs do not.
      ...(provider === 'cpu' && manifest.computeType === 'float16' ? { logSeverityLevel: 3 as const } : {}),
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    };
    const decoder = await ort.InferenceSession.create(join(buildDir, manifest.decoder), sessionOptions);
    const vision = manifest.vision ? await ort.InferenceSession.create(join(buildDir, manifest.vision), sessionOptions) : undefined;
    const chunking = { tokens: options.prefillChunkTokens ?? 1024, scoreBytes: options.prefillScoreBytes ?? 2 ** 28 };
    if (!Number.isInteger(chunking.tokens) || chunking.tokens < 1) throw new OnnxError('ONNX_BAD_INPUT', `prefillChunkTokens ${chunking.tokens} must be a positive integer`);
    if (!(chunking.scoreBytes > 0)) throw new OnnxError('ONNX_BAD_INPUT', `prefillScoreBytes ${chunking.scoreBytes} must be > 0`);
    return new OnnxEngine(manifest, decoder, vision, options.prefixCache ?? true, options.prefixCacheBytes ?? 2 ** 30, chunking);
  }

  /** The element type of the KV cache and the cross K/V (float16 in fp16 builds). */
  get computeType(): 'float32' | 'float16' {
    return this.manifest.computeType ?? 'float32';
  }

  /** The model's context: max_position_embeddings, at most the 131072 rows of the rotary tables. */
  get contextLength(): number {
    return Math.min(this.manifest.spec.text.maxPositionEmbeddings, 131072);
  }

  get vocabSize(): number {
    return this.manifest.spec.text.vocabSize;
  }

  get spec() {
    return this.manifest.spec;
  }

  /** Runs the vision graph: cross-attention K/V for every cross layer, plus the projected states. */
  async encodeImages(vision: VisionInputs): Promise<{ kv: Feeds; tokens: number; outputs: ort.InferenceSession.ReturnType; bytes: number }> {
    const v = this.manifest.spec.vision;
    if (!this.vision || !v) throw new OnnxError('ONNX_BAD_INPUT', 'this model has no vision graph; images need a Mllama (Llama 3.2 Vision) build');
    const { numImages, maxTiles, tileSize } = vision;
    if (maxTiles !== v.maxNumTiles || tileSize !== v.imageSize) {
      throw new OnnxError('ONNX_BAD_INPUT', `vision inputs have ${maxTiles} tiles of ${tileSize}px; this model takes ${v.maxNumTiles} tiles of ${v.imageSize}px`);
    }
    const expect = numImages * maxTiles * 3 * tileSize * tileSize;
    if (vision.pixelValues.length !== expect) {
      throw new OnnxError('ONNX_BAD_INPUT', `pixelValues has ${vision.pixelValues.length} values, expected ${expect} ([1, ${numImages}, ${maxTiles}, 3, ${tileSize}, ${tileSize}])`);
    }
    const feeds: Feeds = {
      [VisionIO.pixelValues]: new ort.Tensor('float32', vision.pixelValues, [1, numImages, maxTiles, 3, tileSize, tileSize]),
      [VisionIO.aspectRatioIds]: new ort.Tensor('int64', BigInt64Array.from(vision.aspectRatioIds.map(BigInt)), [1, numImages]),
      [VisionIO.aspectRatioMask]: new ort.Tensor('int64', BigInt64Array.from(vision.aspectRatioMask.flat().map(BigInt)), [1, numImages, maxTiles]),
    };
    const outputs = await this.vision.run(feeds);
    const kv: Feeds = {};
    for (const layer of this.manifest.spec.text.crossAttentionLayers) {
      kv[DecoderIO.crossKey(layer)] = outputs[VisionIO.crossKey(layer)];
      kv[DecoderIO.crossValue(layer)] = outputs[VisionIO.crossValue(layer)];
    }
    return { kv, tokens: numImages * maxTiles * v.numPatches, outputs, bytes: tensorBytes(feeds) + tensorBytes(outputs) };
  }

  async prefill(inputIds: number[], vision?: VisionInputs, options: PrefillOptions = {}): Promise<OnnxDecodeSession> {
    if (this.disposed) throw new OnnxError('ONNX_SESSION_DISPOSED', 'the engine was disposed');
    if (inputIds.length === 0) throw new OnnxError('ONNX_BAD_INPUT', 'inputIds is empty; a prompt needs at least one token');
    checkAbort(options.signal);
    const spec = this.manifest.spec.text;
    const T = inputIds.length;
    const withImages = vision !== undefined && vision.numImages > 0;
    if (withImages && spec.crossAttentionLayers.length === 0) throw new OnnxError('ONNX_BAD_INPUT', 'this model is text-only (LlamaForCausalLM); it cannot take images');
    if (withImages && vision.crossAttentionMask.length !== T) {
      throw new OnnxError('ONNX_BAD_INPUT', `crossAttentionMask has ${vision.crossAttentionMask.length} rows, expected one per prompt token (${T})`);
    }
    // Reuse the cached prefix when this prompt starts with its tokens (same images, same mask rows).
    // Hashing the pixels costs far less than the vision encoder it can save.
    const key = this.prefixCacheEnabled && withImages ? visionKey(vision) : 'none';
    const match = this.prefixCacheEnabled && !options.allLogits && !this.manifest.hiddenStates ? this.prefixes.best(inputIds, key, withImages ? vision.crossAttentionMask : undefined) : undefined;
    const cached = match?.prefix;
    const reuse = match?.length ?? 0;
    let cross: CrossState | undefined;
    let bytes = 0;
    if (spec.crossAttentionLayers.length > 0) {
      if (withImages) {
        let kv = reuse > 0 ? cached!.crossKv : undefined;
        if (!kv) {
          const enc = await this.encodeImages(vision);
          bytes += enc.bytes;
          kv = enc.kv;
        }
        checkAbort(options.signal);
        const { mask, rowMask, width } = crossAttentionMask4d(vision.crossAttentionMask, this.manifest.spec.vision!.numPatches);
        cross = { kv, width, mask, rowMask, promptLength: T, lastRow: mask.slice((T - 1) * width), lastRowMask: rowMask[T - 1], promptRows: vision.crossAttentionMask };
      } else {
        // Text only: HF skips the cross layers. One all-zero key/value with row mask 0 makes each
        // cross layer an exact identity (o_proj has no bias; the MLP output is multiplied by 0).
        const kv: Feeds = {};
        const dims = [1, spec.numKvHeads, 1, spec.headDim];
        for (const layer of spec.crossAttentionLayers) {
          kv[DecoderIO.crossKey(layer)] = zeros(this.computeType, dims);
          kv[DecoderIO.crossValue(layer)] = zeros(this.computeType, dims);
        }
        cross = { kv, width: 1, mask: new Float32Array(T), rowMask: new Float32Array(T), promptLength: T, lastRow: new Float32Array(1), lastRowMask: 0 };
      }
    }
    const start = reuse > 0 ? { fedIds: inputIds.slice(0, reuse), past: Object.fromEntries(Object.entries(cached!.past).map(([name, t]) => [name, truncateKv(t, reuse)])) } : undefined;
    const session = new OnnxDecodeSession(this, this.decoder, spec, cross, key, start);
    try {
      await session.feedPrompt(inputIds.slice(reuse), options.allLogits === true, bytes, options.signal);
    } catch (error) {
      session.dispose();
      throw error;
    }
    return session;
  }

  /**
   * Tokens the next prefill run takes at `position` with `remaining` prompt tokens left: at most
   * prefillChunkTokens, fewer when one layer's attention scores (heads × chunk × columns × 4
   * bytes) would pass prefillScoreBytes. Columns are the positions so far (self-attention: both
   * the plain ops and onnxruntime's GroupQueryAttention CPU kernel hold the score matrix) or the
   * image tokens (Mllama's cross-attention, `crossColumns`), whichever is more. Builds that return every layer's hidden states
   * (verification) take the prompt in one run.
   */
  prefillChunkLength(position: number, remaining: number, crossColumns = 0): number {
    if (this.manifest.hiddenStates) return remaining;
    const chunk = Math.min(remaining, this.chunking.tokens);
    const columns = Math.max(position + chunk, crossColumns);
    const fit = Math.floor(this.chunking.scoreBytes / (this.manifest.spec.text.numHeads * columns * 4));
    return Math.max(1, Math.min(chunk, Math.max(32, fit)));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.prefixes.clear();
    await this.decoder.release();
    await this.vision?.release();
  }
}

interface CrossState {
  kv: Feeds;
  width: number;
  /** [T, width] additive mask of the prompt rows. */
  mask: Float32Array;
  rowMask: Float32Array;
  promptLength: number;
  /** The prompt's dense mask rows (images only), kept for the prefix cache. */
  promptRows?: number[][][];
  /** Each decode step repeats the last prompt row (HF `_update_model_kwargs_for_generation`). */
  lastRow: Float32Array;
  lastRowMask: number;
}

export class OnnxDecodeSession implements DecodeSession {
  logits: Float32Array = new Float32Array(0);
  /** All logits of the last run, [positions, vocab] (positions = T with allLogits, else 1). */
  allLogits: Float32Array = new Float32Array(0);
  hiddenStates: Float32Array[] = [];
  lastTransferBytes = 0;
  private past: Feeds = {};
  private position = 0;
  private disposed = false;
  /** Tokens in the KV cache, in order (what a later prompt can share). */
  private fedIds: number[] = [];
  /** Positions taken from the engine's cached prefix instead of being fed (0: a fresh prefill). */
  readonly reusedPositions: number;

  constructor(
    private readonly engine: OnnxEngine,
    private readonly decoder: ort.InferenceSession,
    private readonly spec: BuildManifest['spec']['text'],
    private readonly cross: CrossState | undefined,
    private readonly imagesKey: string = 'none',
    start?: { fedIds: number[]; past: Feeds },
  ) {
    this.reusedPositions = start?.fedIds.length ?? 0;
    if (start) {
      this.past = { ...start.past };
      this.fedIds = [...start.fedIds];
      this.position = start.fedIds.length;
      return;
    }
    const crossLayers = new Set(spec.crossAttentionLayers);
    const dims = [1, spec.numKvHeads, 0, spec.headDim];
    for (let i = 0; i < spec.numLayers; i++) {
      if (crossLayers.has(i)) continue;
      this.past[DecoderIO.pastKey(i)] = zeros(engine.computeType, dims);
      this.past[DecoderIO.pastValue(i)] = zeros(engine.computeType, dims);
    }
  }

  get length(): number {
    return this.position;
  }

  /**
   * Drops every position after the first `length` (the rejected tail of a speculative decode
   * run): the KV cache is cut back to them (a copy) and the next run feeds position `length`.
   * `logits` stay those of the last run until the next step() or decode().
   */
  rewind(length: number): void {
    if (this.disposed) throw new OnnxError('ONNX_SESSION_DISPOSED', 'the decode session was disposed');
    if (!Number.isInteger(length) || length < 0 || length > this.position) throw new OnnxError('ONNX_BAD_INPUT', `cannot rewind a session of ${this.position} positions to ${length}`);
    if (length === this.position) return;
    for (const name of Object.keys(this.past)) this.past[name] = truncateKv(this.past[name], length);
    this.position = length;
    this.fedIds.length = Math.min(this.fedIds.length, length);
  }

  /**
   * Greedy decoding of `count` tokens in one onnxruntime run (the KV cache crosses once, not per
   * token): the first is the argmax of the current logits, the rest are chosen in the graph.
   * Afterwards the session is where `count` step() calls with those tokens would leave it.
   */
  async greedy(count: number): Promise<number[]> {
    return this.decode(count, { temperature: 1, topK: 1, topP: 1 }, new Array<number>(count).fill(0));
  }

  /** Whether decode() can apply a repetition penalty in the graph (builds from before it cannot). */
  get repetitionPenaltyInGraph(): boolean {
    return this.engine.loopFeatures.repetitionPenalty;
  }

  /** Whether decode() can return log-probabilities of the tokens it chooses in the graph. */
  get logprobsInGraph(): boolean {
    return this.engine.loopFeatures.logprobs;
  }

  /**
   * Log-probabilities (raw distribution) of the tokens the last decode() chose in the graph: one
   * entry per token after the first (the first is chosen in JS from `logits` before the call).
   */
  lastLogprobs: Array<{ logprob: number; top: Array<{ id: number; logprob: number }> }> = [];

  /**
   * Decodes `count` tokens in one run, sampling in the graph with a repetition penalty over
   * `seen` (every id before this call) and then temperature / top-k / top-p, with one
   * caller-drawn uniform in [0, 1) per token (top_k 1 is greedy). Builds without the loop fall
   * back to one step() per token with the same choice made in JS.
   */
  async decode(count: number, params: SampleParams, uniforms: number[], seen: number[] = []): Promise<number[]> {
    if (!Number.isInteger(count) || count < 1) throw new OnnxError('ONNX_BAD_INPUT', `decode count ${count} must be a positive integer`);
    if (uniforms.length < count) throw new OnnxError('ONNX_BAD_INPUT', `decode needs ${count} uniforms, got ${uniforms.length}`);
    if (!(params.temperature > 0) || !(params.topP > 0) || !(params.topK >= 0)) {
      throw new OnnxError('ONNX_BAD_INPUT', 'sampling needs temperature > 0, top_p in (0, 1] and top_k >= 0 (0 = off)');
    }
    const penalty = params.repetitionPenalty ?? 1;
    if (!(penalty > 0) || !Number.isFinite(penalty)) throw new OnnxError('ONNX_BAD_INPUT', `repetition penalty ${penalty} must be a finite number > 0 (1 = off)`);
    if (penalty !== 1 && this.engine.manifest.greedyLoop && !this.repetitionPenaltyInGraph) {
      throw new OnnxError('ONNX_BAD_INPUT', 'this build has no in-graph repetition penalty; rebuild it with `lookout build`, or decode one step at a time');
    }
    const k = params.topLogprobs;
    if (k !== undefined && (!Number.isInteger(k) || k < 0 || k > 100)) throw new OnnxError('ONNX_BAD_INPUT', `topLogprobs ${k} must be an integer in [0, 100]`);
    if (k !== undefined && !this.logprobsInGraph) {
      throw new OnnxError('ONNX_BAD_INPUT', 'this build cannot return log-probabilities from its decode loop; rebuild it with `lookout build`, or decode one step at a time');
    }
    this.lastLogprobs = [];
    const seenSet = new Set(seen);
    const choose = (logits: Float32Array, u: number) => chooseToken(penalty === 1 ? logits : applyRepetitionPenalty(logits.slice(), seenSet, penalty), params, u);
    const first = choose(this.logits, uniforms[0]);
    seenSet.add(first);
    if (!this.engine.manifest.greedyLoop) {
      const out = [first];
      let logits = await this.step(first);
      for (let i = 1; i < count; i++) {
        out.push(choose(logits, uniforms[i]));
        seenSet.add(out[i]);
        logits = await this.step(out[i]);
      }
      return out;
    }
    this.sampling = { params, uniforms: [...uniforms.slice(1, count), 0], seen: penalty === 1 ? [] : [...seenSet] };
    try {
      const tokens = await this.run([first], false, 0, count - 1);
      return [first, ...tokens];
    } finally {
      this.sampling = undefined;
    }
  }

  private sampling: { params: SampleParams; uniforms: number[]; seen: number[] } | undefined;

  /**
   * Feeds the prompt in chunks (engine.prefillChunkLength), checking the signal between them.
   * With allLogits the chunks' logits are joined, so callers see one [T, vocab] array.
   */
  async feedPrompt(ids: number[], allLogits: boolean, extraBytes: number, signal?: AbortSignal): Promise<void> {
    let transfer = 0;
    const logits: Float32Array[] = [];
    for (let at = 0; at < ids.length; ) {
      checkAbort(signal);
      const n = this.engine.prefillChunkLength(this.position, ids.length - at, this.cross?.width ?? 0);
      await this.run(ids.slice(at, at + n), allLogits, at === 0 ? extraBytes : 0);
      transfer += this.lastTransferBytes;
      if (allLogits) logits.push(this.allLogits);
      at += n;
    }
    this.lastTransferBytes = transfer;
    if (allLogits && logits.length > 1) {
      const joined = new Float32Array(logits.reduce((n, l) => n + l.length, 0));
      let offset = 0;
      for (const l of logits) {
        joined.set(l, offset);
        offset += l.length;
      }
      this.allLogits = joined;
    }
  }

  /** Feeds `ids` after everything so far in one forward run. */
  async run(ids: number[], allLogits: boolean, extraBytes = 0, greedySteps = 0): Promise<number[]> {
    if (this.disposed) throw new OnnxError('ONNX_SESSION_DISPOSED', 'the decode session was disposed');
    const T = ids.length;
    const limit = this.engine.contextLength;
    if (this.position + T + greedySteps > limit) {
      throw new OnnxError(
        'ONNX_CONTEXT_EXCEEDED',
        `${this.position} positions so far + ${T} fed + ${greedySteps} to decode exceed the model's context of ${limit} positions (max_position_embeddings)`,
      );
    }
    const feeds: Feeds = {
      ...this.past,
      [DecoderIO.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]),
      [DecoderIO.positionIds]: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(this.position + i))), [1, T]),
      [DecoderIO.logitsFrom]: new ort.Tensor('int64', BigInt64Array.from([BigInt(allLogits ? 0 : T - 1)]), [1]),
    };
    if (this.engine.manifest.greedyLoop) {
      const sp = this.sampling ?? { params: { temperature: 1, topK: 1, topP: 1 }, uniforms: new Array<number>(greedySteps + 1).fill(0), seen: [] };
      feeds[LoopIO.steps] = new ort.Tensor('int64', BigInt64Array.from([BigInt(greedySteps)]), []);
      feeds[SampleIO.temperature] = new ort.Tensor('float32', Float32Array.from([sp.params.temperature]), []);
      feeds[SampleIO.topK] = new ort.Tensor('int64', BigInt64Array.from([BigInt(sp.params.topK)]), []);
      feeds[SampleIO.topP] = new ort.Tensor('float32', Float32Array.from([sp.params.topP]), []);
      feeds[SampleIO.uniforms] = new ort.Tensor('float32', Float32Array.from(sp.uniforms), [sp.uniforms.length]);
      if (this.repetitionPenaltyInGraph) {
        feeds[SampleIO.repetitionPenalty] = new ort.Tensor('float32', Float32Array.from([sp.params.repetitionPenalty ?? 1]), []);
        // Ids outside the logits (Mllama's <|image|> is 128256 of 128256 logits) have no score to penalise.
        const seen = sp.seen.filter((id) => id >= 0 && id < this.spec.vocabSize);
        feeds[SampleIO.seenIds] = new ort.Tensor('int64', BigInt64Array.from(seen.map(BigInt)), [seen.length]);
      }
      if (this.logprobsInGraph) feeds[SampleIO.topLogprobs] = new ort.Tensor('int64', BigInt64Array.from([BigInt(sp.params.topLogprobs ?? -1)]), []);
    }
    if (this.cross) {
      const c = this.cross;
      Object.assign(feeds, c.kv);
      let mask: Float32Array;
      let rows: Float32Array;
      if (this.position < c.promptLength) {
        // Prompt rows: the whole prompt, or what follows a reused prefix.
        mask = c.mask.slice(this.position * c.width, (this.position + T) * c.width);
        rows = c.rowMask.slice(this.position, this.position + T);
      } else {
        mask = new Float32Array(T * c.width);
        rows = new Float32Array(T).fill(c.lastRowMask);
        for (let t = 0; t < T; t++) mask.set(c.lastRow, t * c.width);
      }
      feeds[DecoderIO.crossMask] = new ort.Tensor('float32', mask, [1, 1, T, c.width]);
      feeds[DecoderIO.rowMask] = new ort.Tensor('float32', rows, [1, 1, T, 1]);
    }
    // Fetch only what this run needs (each fetched output is copied out of onnxruntime).
    const fetches: string[] = [];
    const crossSet = new Set(this.spec.crossAttentionLayers);
    for (let i = 0; i < this.spec.numLayers; i++) if (!crossSet.has(i)) fetches.push(DecoderIO.presentKey(i), DecoderIO.presentValue(i));
    const wantLogprobs = greedySteps > 0 && this.sampling?.params.topLogprobs !== undefined;
    if (greedySteps > 0) fetches.push(LoopIO.logits, LoopIO.tokens);
    else fetches.push(DecoderIO.logits);
    if (wantLogprobs) fetches.push(LoopIO.tokenLogprobs, LoopIO.topLogprobs, LoopIO.topIds);
    if (this.engine.manifest.hiddenStates && greedySteps === 0) for (let i = 0; i <= this.spec.numLayers; i++) fetches.push(DecoderIO.hidden(i));
    const out = await this.decoder.run(feeds, fetches);
    const crossLayers = new Set(this.spec.crossAttentionLayers);
    for (let i = 0; i < this.spec.numLayers; i++) {
      if (crossLayers.has(i)) continue;
      this.past[DecoderIO.pastKey(i)] = out[DecoderIO.presentKey(i)];
      this.past[DecoderIO.pastValue(i)] = out[DecoderIO.presentValue(i)];
    }
    this.position += T + greedySteps;
    const V = this.spec.vocabSize;
    const fed = greedySteps > 0 ? Array.from(out[LoopIO.tokens].data as BigInt64Array, Number) : [];
    // Loops, not push(...): a long prompt's ids spread into one call would overflow the stack.
    for (const id of ids) this.fedIds.push(id);
    for (const id of fed) this.fedIds.push(id);
    if (wantLogprobs) {
      const k = this.sampling!.params.topLogprobs!;
      const chosen = out[LoopIO.tokenLogprobs].data as Float32Array;
      const values = out[LoopIO.topLogprobs].data as Float32Array;
      const topIds = out[LoopIO.topIds].data as BigInt64Array;
      const width = values.length / greedySteps; // max(k, 1)
      for (let i = 0; i < greedySteps; i++) {
        const top = Array.from({ length: k }, (_, j) => ({ id: Number(topIds[i * width + j]), logprob: values[i * width + j] }));
        this.lastLogprobs.push({ logprob: chosen[i], top });
      }
    }
    if (greedySteps > 0) {
      this.logits = (out[LoopIO.logits].data as Float32Array).slice();
      this.allLogits = this.logits;
    } else {
      const logits = out[DecoderIO.logits].data as Float32Array;
      this.allLogits = logits;
      this.logits = logits.slice(logits.length - V);
    }
    if (this.engine.manifest.hiddenStates && greedySteps === 0) {
      this.hiddenStates = [];
      for (let i = 0; i <= this.spec.numLayers; i++) this.hiddenStates.push(out[DecoderIO.hidden(i)].data as Float32Array);
    }
    this.lastTransferBytes = extraBytes + tensorBytes(feeds) + tensorBytes(out);
    return fed;
  }

  async step(tokenId: number): Promise<Float32Array> {
    if (!Number.isInteger(tokenId) || tokenId < 0) throw new OnnxError('ONNX_BAD_INPUT', `token id ${tokenId} is not a non-negative integer`);
    await this.run([tokenId], false);
    return this.logits;
  }

  /** Ends the session; its KV cache becomes the engine's cached prefix (when enabled). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.fedIds.length > 0 && this.fedIds.length === this.position) {
      this.engine.rememberPrefix({
        fedIds: this.fedIds,
        past: this.past,
        visionKey: this.imagesKey,
        crossKv: this.imagesKey !== 'none' ? this.cross?.kv : undefined,
        promptRows: this.cross?.promptRows,
      });
    }
    this.past = {};
  }
}

/** A zero tensor of the compute type (float16 data is IEEE half bits in a Uint16Array). */
function zeros(type: 'float32' | 'float16', dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return type === 'float16' ? new ort.Tensor('float16', new Uint16Array(n), dims) : new ort.Tensor('float32', new Float32Array(n), dims);
}

function tensorBytes(feeds: Record<string, ort.Tensor>): number {
  let n = 0;
  for (const t of Object.values(feeds)) n += (t.data as ArrayBufferView).byteLength;
  return n;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new OnnxError('ONNX_ABORTED', 'the forward pass was aborted');
}
