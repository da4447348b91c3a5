import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { GuardConfigError, GuardModelError } from '../errors.js';
import type { Guard, GuardCheckOptions, GuardSubject, Stage, Verdict } from '../types.js';
import { ClassifierSession, type ClassifierSessionOptions } from './classifier-session.js';
import { deobfuscateWhitespace } from './deobfuscate.js';
import { encodeChunked } from './encode-chunked.js';
import { labelScheme, softmax, type LabelScheme } from './labels.js';
import { slidingWindows } from './windows.js';

export type PromptGuardScore = 'jailbreak' | 'injection';

export interface PromptGuardOptions extends ClassifierSessionOptions {
  /**
   * Threshold per stage; a stage with none is not checked. Default: input 0.5 (jailbreak score),
   * tool-result 0.5 (injection score).
   */
  thresholds?: Partial<Record<Stage, number>>;
  /** Which score a stage uses. Default: input → jailbreak, every other stage → injection. */
  scoreFor?: Partial<Record<Stage, PromptGuardScore>>;
  /** Tokens per window including the special tokens. Default 512 (Prompt Guard's context). */
  windowTokens?: number;
  /** Tokens shared by neighbouring windows so an attack across a border is seen whole. Default 64. */
  overlapTokens?: number;
  /** Also score the whitespace-de-obfuscated text and keep the higher score. Default true. */
  deobfuscate?: boolean;
  /** Windows per session.run. Default 8. */
  batchSize?: number;
  /** ONNX file inside the model directory. Default: model.onnx, else onnx/model.onnx. */
  modelFile?: string;
  name?: string;
}

const DEFAULT_THRESHOLDS: Partial<Record<Stage, number>> = { input: 0.5, 'tool-result': 0.5 };

/** Scores of one text: the maximum over its windows (and its de-obfuscated form). */
export interface PromptGuardScores {
  jailbreak: number;
  injection: number;
  windows: number;
}

/**
 * Meta's Prompt Guard (v1 or v2) as a guard: a small sequence classifier exported to ONNX, run
 * in a worker thread, over 512-token windows of the text, with per-stage thresholds.
 */
export class PromptGuard implements Guard {
  readonly name: string;
  private readonly thresholds: Partial<Record<Stage, number>>;
  private readonly prefix: number[];
  private readonly suffix: number[];
  private readonly padId: number;
  private readonly bodyTokens: number;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly session: ClassifierSession,
    readonly labels: LabelScheme,
    private readonly options: PromptGuardOptions,
    padToken: string | undefined,
  ) {
    this.name = options.name ?? `prompt-guard-${labels.version}`;
    this.thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
    for (const [stage, t] of Object.entries(this.thresholds)) {
      if (!(typeof t === 'number' && t > 0 && t <= 1)) throw new GuardConfigError(`Prompt Guard threshold for ${stage} must be in (0, 1]; got ${t}`);
    }
    // Learn what the post-processor wraps around a text ([CLS] … [SEP]) so windows get the same.
    const probe = 'a';
    const bare = tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const full = tokenizer.encode(probe, { add_special_tokens: true }).ids;
    const at = indexOfRun(full, bare);
    this.prefix = at >= 0 ? full.slice(0, at) : [];
    this.suffix = at >= 0 ? full.slice(at + bare.length) : [];
    this.padId = (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ?? 0;
    const window = options.windowTokens ?? 512;
    this.bodyTokens = window - this.prefix.length - this.suffix.length;
    if (this.bodyTokens <= (options.overlapTokens ?? 64)) {
      throw new GuardConfigError(`windowTokens ${window} leaves no room past the ${options.overlapTokens ?? 64}-token overlap`);
    }
  }

  /** Loads tokenizer.json, tokenizer_config.json (optional), config.json and the ONNX graph from `dir`. */
  static async load(dir: string, options: PromptGuardOptions = {}): Promise<PromptGuard> {
    const readJson = async (file: string, required: boolean): Promise<Record<string, unknown> | undefined> => {
      try {
        return JSON.parse(await readFile(path.join(dir, file), 'utf8'));
      } catch (e) {
        if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new GuardModelError(`cannot read ${file} in ${dir}: ${(e as Error).message}`, { cause: e });
      }
    };
    const config = (await readJson('config.json', true))!;
    const tokenizerJson = (await readJson('tokenizer.json', true))!;
    const tokenizerConfig = (await readJson('tokenizer_config.json', false)) ?? {};
    const labels = labelScheme(config as { id2label?: Record<string, string> });
    const modelPath = await findModel(dir, options.modelFile);
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const session = await ClassifierSession.open(modelPath, options);
    const pad = tokenizerConfig.pad_token;
    const padToken = typeof pad === 'string' ? pad : (pad as { content?: string } | undefined)?.content;
    return new PromptGuard(tokenizer, session, labels, options, padToken);
  }

  async check(subject: GuardSubject, options: GuardCheckOptions = {}): Promise<Verdict> {
    const started = performance.now();
    const threshold = this.thresholds[subject.stage];
    if (threshold === undefined) {
      return { safe: true, categories: [], guard: this.name, latencyMs: performance.now() - started, reason: `stage ${subject.stage} is not checked` };
    }
    const kind = this.options.scoreFor?.[subject.stage] ?? (subject.stage === 'input' ? 'jailbreak' : 'injection');
    const scores = await this.score(subject.content.text, options.signal);
    const score = scores[kind];
    const safe = score < threshold;
    return {
      safe,
      categories: safe ? [] : [`prompt-guard:${kind}`],
      score,
      guard: this.name,
      latencyMs: performance.now() - started,
      reason: `${kind} score ${score.toFixed(4)} ${safe ? '<' : '≥'} threshold ${threshold} over ${scores.windows} window(s)`,
    };
  }

  /** Jailbreak and injection probabilities of a text (max over windows and the de-obfuscated form). */
  async score(text: string, signal?: AbortSignal): Promise<PromptGuardScores> {
    const texts = [text];
    if (this.options.deobfuscate !== false) {
      const clean = deobfuscateWhitespace(text);
      if (clean !== text.trim()) texts.push(clean);
    }
    const windows = texts.flatMap((t) =>
      slidingWindows(encodeChunked(this.tokenizer, t), this.bodyTokens, this.options.overlapTokens ?? 64).map((w) => [
        ...this.prefix,
        ...w,
        ...this.suffix,
      ]),
    );
    const result: PromptGuardScores = { jailbreak: 0, injection: 0, windows: windows.length };
    const batchSize = this.options.batchSize ?? 8;
    for (let i = 0; i < windows.length; i += batchSize) {
      signal?.throwIfAborted();
      const batch = windows.slice(i, i + batchSize);
      const seq = Math.max(...batch.map((w) => w.length));
      const ids = new BigInt64Array(batch.length * seq).fill(BigInt(this.padId));
      const mask = new BigInt64Array(batch.length * seq);
      batch.forEach((w, r) => w.forEach((id, c) => ((ids[r * seq + c] = BigInt(id)), (mask[r * seq + c] = 1n))));
      const { data, dims } = await this.session.run(ids, mask, batch.length, seq);
      const n = dims[dims.length - 1];
      if (n !== this.labels.labels.length) {
        throw new GuardModelError(`classifier returned ${n} logits per row; config.json lists ${this.labels.labels.length} labels`);
      }
      for (let r = 0; r < batch.length; r++) {
        const p = softmax(data, r * n, n);
        result.jailbreak = Math.max(result.jailbreak, this.labels.jailbreak(p));
        result.injection = Math.max(result.injection, this.labels.injection(p));
      }
    }
    return result;
  }

  /** Ends the worker thread. */
  close(): Promise<void> {
    return this.session.close();
  }
}

async function findModel(dir: string, file?: string): Promise<string> {
  const candidates = file ? [file] : ['model.onnx', 'onnx/model.onnx'];
  for (const c of candidates) {
    const p = path.join(dir, c);
    try {
      await access(p);
      return p;
    } catch {
      /* try the next */
    }
  }
  throw new GuardModelError(`no ONNX classifier in ${dir}; looked for ${candidates.join(', ')}`);
}

function indexOfRun(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
