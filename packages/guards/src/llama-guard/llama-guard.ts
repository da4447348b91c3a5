import type { ChatMessage, ContentPart, ImageInput, LanguageModel, ModelRequest, PromptSegment } from '@lookout/runtime';
import { GuardConfigError, GuardError, GuardImageUnsupportedError } from '../errors.js';
import type { Guard, GuardCheckOptions, GuardSubject, Verdict } from '../types.js';
import { LLAMA_GUARD_VARIANTS, resolveCategories, type CategorySet, type LlamaGuardVariant } from './categories.js';
import { toGuardTurns, type GuardTurn } from './conversation.js';
import { guardEscapesText, neutraliseContent, neutraliseSpecialTokens } from './neutralise.js';
import { parseLlamaGuardOutput } from './parse.js';
import { buildLlamaGuardPrompt } from './prompt.js';
import { unsafeProbability, type DecisionTokens, type TokenStep } from './score.js';

/** What LlamaGuard needs from a tokenizer (runtime's LlamaTokenizer fits). */
export interface GuardTokenizer {
  tokenToId(token: string): number | undefined;
}

export interface LlamaGuardOptions {
  model: LanguageModel;
  variant: LlamaGuardVariant;
  /** Reads the ids of "safe"/"unsafe" so scores match by id; without it tokens match by text. */
  tokenizer?: GuardTokenizer;
  /** Replaces the default categories (code → description, e.g. { S1: 'Violent Crimes.' }). */
  categories?: CategorySet;
  /** Codes left out of the prompt; a verdict naming only these is safe. */
  excludedCategories?: string[];
  /** When set, P(unsafe) ≥ threshold decides the verdict (the written answer still gives categories). */
  threshold?: number;
  /** Only generate up to the decision token and decide by score (threshold, default 0.5). */
  scoreOnly?: boolean;
  /** Generation budget for the written verdict. Default 40 (enough for "unsafe" and a long code list). */
  maxTokens?: number;
  /** Alternatives per step requested for scoring. Default 20. */
  topLogprobs?: number;
  /**
   * The model is a served engine that takes prompts as strings (default: a model id starting with
   * "openai:", as OpenAICompatibleModel's). Special-token look-alikes in untrusted text are then
   * neutralised (by the model itself when it reports `escapesSpecialTokens`, else here), and checks
   * with an image use chat messages (completions endpoints take no images).
   */
  served?: boolean;
  /** History turns given to the model before the content under test. Default: all. */
  maxHistoryTurns?: number;
  name?: string;
}

interface CallResult {
  text: string;
  steps: TokenStep[];
  finish?: string;
}

/**
 * Llama Guard 3 over any LanguageModel. Builds the official prompt as segments (raw-prompt
 * backends), or hands the conversation to the server's own chat template when the backend takes
 * chat messages only. 11B-Vision checks one image per call; several images are checked in
 * parallel and the worst verdict wins.
 */
export class LlamaGuard implements Guard {
  readonly name: string;
  readonly variant: LlamaGuardVariant;
  readonly categories: CategorySet;
  private readonly excluded: string[];
  private readonly decisionTokens: DecisionTokens;

  constructor(private readonly options: LlamaGuardOptions) {
    if (!LLAMA_GUARD_VARIANTS.includes(options.variant)) {
      throw new GuardConfigError(`unknown Llama Guard variant ${JSON.stringify(options.variant)}; accepted: ${LLAMA_GUARD_VARIANTS.join(', ')}`);
    }
    if (options.threshold !== undefined && !(options.threshold > 0 && options.threshold <= 1)) {
      throw new GuardConfigError(`Llama Guard threshold must be in (0, 1]; got ${options.threshold}`);
    }
    this.variant = options.variant;
    this.name = options.name ?? `llama-guard-3-${options.variant}`;
    this.excluded = options.excludedCategories ?? [];
    this.categories = resolveCategories(options.variant, options.categories, this.excluded);
    const id = (t: string) => options.tokenizer?.tokenToId(t);
    this.decisionTokens = { safe: { id: id('safe'), text: 'safe' }, unsafe: { id: id('unsafe'), text: 'unsafe' } };
    if (options.tokenizer && (this.decisionTokens.safe.id === undefined || this.decisionTokens.unsafe.id === undefined)) {
      throw new GuardConfigError('the tokenizer has no "safe"/"unsafe" tokens; is it the Llama 3 tokenizer of the guard model?');
    }
  }

  /** The prompt segments of one check (the first image only; see check for several). */
  prompt(subject: GuardSubject, image?: ImageInput): PromptSegment[] {
    return buildLlamaGuardPrompt({ variant: this.variant, turns: this.turns(subject), categories: this.categories, image });
  }

  async check(subject: GuardSubject, options: GuardCheckOptions = {}): Promise<Verdict> {
    const started = performance.now();
    const images = subject.content.images;
    if (images.length > 0 && this.variant !== '11b-vision') throw new GuardImageUnsupportedError(this.variant, images.length);
    const turns = this.turns(subject);
    const calls = images.length > 0 ? images.map((img) => this.checkOnce(turns, img, options.signal)) : [this.checkOnce(turns, undefined, options.signal)];
    const verdicts = await Promise.all(calls);
    const worst = verdicts.reduce((a, b) => (severity(b) > severity(a) ? b : a));
    const verdict: Verdict = { ...worst, latencyMs: performance.now() - started };
    if (verdicts.length > 1) {
      verdict.verdicts = verdicts;
      verdict.categories = [...new Set(verdicts.filter((v) => !v.safe).flatMap((v) => v.categories))];
      if (worst.reason) verdict.reason = `image ${verdicts.indexOf(worst)}: ${worst.reason}`;
    }
    return verdict;
  }

  private turns(subject: GuardSubject): GuardTurn[] {
    return toGuardTurns(subject, { maxHistoryTurns: this.options.maxHistoryTurns });
  }

  private async checkOnce(turns: GuardTurn[], image: ImageInput | undefined, signal?: AbortSignal): Promise<Verdict> {
    const started = performance.now();
    const result = await this.call(turns, image, signal);
    const base = { guard: this.name, latencyMs: performance.now() - started };
    const score = unsafeProbability(result.steps, this.decisionTokens);
    const threshold = this.options.threshold ?? (this.options.scoreOnly ? 0.5 : undefined);
    const parsed = parseLlamaGuardOutput(result.text, Object.keys(this.categories).concat(this.excluded));
    const scored = score !== undefined ? { score } : {};

    if (this.options.scoreOnly) {
      if (score === undefined) {
        return { ...base, safe: false, categories: ['guard-failure:unparseable'], failure: 'unparseable', reason: `no safe/unsafe log-probabilities came back (text: ${JSON.stringify(result.text)})` };
      }
      const unsafe = score >= threshold!;
      return { ...base, ...scored, safe: !unsafe, categories: [], reason: `P(unsafe) = ${score.toFixed(4)} ${unsafe ? '≥' : '<'} threshold ${threshold}` };
    }
    if (parsed.kind === 'unparseable') {
      return {
        ...base,
        ...scored,
        safe: false,
        categories: ['guard-failure:unparseable'],
        failure: 'unparseable',
        reason: `Llama Guard answered ${JSON.stringify(result.text)}${result.finish && result.finish !== 'stop' ? ` (finish: ${result.finish})` : ''}; expected "safe" or "unsafe\\nS1,S2"`,
      };
    }
    let safe = parsed.kind === 'safe';
    let categories = parsed.kind === 'unsafe' ? parsed.categories.filter((c) => !this.excluded.includes(c)) : [];
    const notes: string[] = [];
    if (parsed.kind === 'unsafe') {
      const excludedHit = parsed.categories.filter((c) => this.excluded.includes(c));
      if (parsed.unknown.length) notes.push(`unknown category code(s) ${parsed.unknown.join(', ')}`);
      if (excludedHit.length && categories.length === 0 && parsed.unknown.length === 0) {
        safe = true;
        notes.push(`only excluded categories ${excludedHit.join(', ')}`);
      } else if (parsed.categories.length === 0 && parsed.unknown.length === 0) {
        notes.push('no category listed');
      }
      categories = [...categories, ...parsed.unknown];
    }
    if (threshold !== undefined) {
      if (score === undefined) notes.push('no score came back; the written answer decides');
      else {
        safe = score < threshold;
        notes.push(`P(unsafe) = ${score.toFixed(4)} ${safe ? '<' : '≥'} threshold ${threshold}`);
        if (safe) categories = [];
      }
    }
    const verdict: Verdict = { ...base, ...scored, safe, categories };
    if (!safe || notes.length) verdict.reason = [safe ? 'safe' : `unsafe${categories.length ? ` (${categories.join(', ')})` : ''}`, ...notes].join('; ');
    return verdict;
  }

  private async call(turns: GuardTurn[], image: ImageInput | undefined, signal?: AbortSignal): Promise<CallResult> {
    const model = this.options.model;
    const maxTokens = this.options.scoreOnly ? 2 : (this.options.maxTokens ?? 40);
    const request: ModelRequest = { sampling: { maxTokens, temperature: 0 } };
    if (model.capabilities.logprobs) request.topLogprobs = this.options.topLogprobs ?? 20;
    const served = this.options.served ?? model.id.startsWith('openai:');
    // A served model that escapes on the wire (OpenAICompatibleModel by default) does it once there.
    const escapeHere = guardEscapesText(model, served);
    if (model.capabilities.rawPrompt && !(served && image !== undefined)) {
      const prompt = buildLlamaGuardPrompt({ variant: this.variant, turns, categories: this.categories, image });
      request.prompt = escapeHere ? neutraliseContent(prompt) : prompt;
    } else {
      if (this.options.categories || this.excluded.length) {
        throw new GuardConfigError(
          `model "${model.id}" takes chat messages only, so the server's own template renders the prompt and custom or excluded categories cannot be applied; use a backend with raw prompts or the default categories`,
        );
      }
      const safeTurns = escapeHere ? turns.map((t) => ({ role: t.role, texts: t.texts.map(neutraliseSpecialTokens) })) : turns;
      request.messages = toChatMessages(safeTurns, this.variant, image);
    }
    const result: CallResult = { text: '', steps: [] };
    for await (const event of model.stream(request, { signal })) {
      if (event.type === 'text-delta') result.text += event.text;
      else if (event.type === 'token') result.steps.push({ token: event.token, top: event.top });
      else if (event.type === 'finish') {
        result.finish = event.reason;
        if (event.reason === 'error') throw new GuardError('GUARD_MODEL_ERROR', `model "${model.id}" finished with an error`);
      }
    }
    return result;
  }
}

/** Worse verdicts rank higher: failures, then unsafe by score, then safe by score. */
function severity(v: Verdict): number {
  return (v.safe ? 0 : 2) + (v.failure && !v.safe ? 1 : 0) + (v.score ?? 0) * 0.5;
}

/** Chat form for servers that apply the guard model's own template (vLLM, Ollama, TGI). */
function toChatMessages(turns: GuardTurn[], variant: LlamaGuardVariant, image?: ImageInput): ChatMessage[] {
  const imageTurn = turns.map((t) => t.role).lastIndexOf('user');
  return turns.map((t, i): ChatMessage => {
    const text = t.texts.join('\n\n');
    if (t.role === 'agent') return { role: 'assistant', content: text };
    if (image !== undefined && variant === '11b-vision' && i === imageTurn) {
      const parts: ContentPart[] = [{ type: 'text', text }, { type: 'image', image }];
      return { role: 'user', content: parts };
    }
    return { role: 'user', content: text };
  });
}
