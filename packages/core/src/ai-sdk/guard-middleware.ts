import { VerdictCache, type GuardSubject, type Stage, type Verdict } from '@lookout/guards';
import type { ChatMessage, ImageInput } from '@lookout/runtime';
import type { LanguageModelMiddleware } from 'ai';
import { OutputModerator } from '../agent/output-moderator.js';
import { resolveGuards, type GuardAction, type GuardSetting, type ResolvedGuard } from '../guarding/config.js';
import { publicVerdict } from '../guarding/public-verdict.js';
import { withRunCache } from '../guarding/run-cache.js';
import { runStage, type StageDecision } from '../guarding/run-stage.js';
import { AiSdkGuardError } from './errors.js';

type CallOptions = Parameters<NonNullable<LanguageModelMiddleware['transformParams']>>[0]['params'];
type GenerateResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapGenerate']>>>;
type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type Prompt = CallOptions['prompt'];
type PromptMessage = Prompt[number];
type ToolResultOutput = Extract<PromptMessage, { role: 'tool' }>['content'][number] extends infer P ? (P extends { type: 'tool-result'; output: infer O } ? O : never) : never;

/** One verdict as reported to `onVerdict` (without `reason` and `redactedText` for output and tool stages). */
export interface AiSdkVerdictEvent {
  stage: Stage;
  action: GuardAction;
  verdict: Verdict;
  toolCallId?: string;
}

export interface AiSdkGuardOptions {
  /** The newest user message (text and images), before the model is called. */
  input?: GuardSetting[];
  /** The model's text, held back while streaming until a check covered it. */
  output?: GuardSetting[];
  /** Each tool call the model makes, before the caller sees (and runs) it. */
  toolCall?: GuardSetting[];
  /** Each tool result in the prompt, before the model reads it. */
  toolResult?: GuardSetting[];
  /** What the caller gets instead of blocked input or output. */
  refusal?: string;
  /** What the model reads instead of a blocked tool result. */
  toolResultNotice?: string | ((info: { toolName: string; verdict: Verdict }) => string);
  /** Per-guard time limit in ms; a guard that runs over counts as unsafe unless failOpen. Default 10 000. */
  guardTimeoutMs?: number;
  /** Streamed text is checked every this many new characters. Default 200. */
  outputChunkChars?: number;
  /** Already-checked characters put in front of each new chunk. Default 64. */
  outputOverlapChars?: number;
  /** Checked characters kept held until the next check passed. Default outputOverlapChars. */
  outputHoldbackChars?: number;
  /** Identical content is classified once (a bounded cache shared by the wrapped model's calls). `false` turns it off. */
  verdictCache?: { maxEntries?: number } | false;
  onVerdict?: (event: AiSdkVerdictEvent) => void;
}

const FILTERED = { unified: 'content-filter', raw: 'lookout-guard' } as const;
const NO_USAGE = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
} as GenerateResult['usage'];

/**
 * AI SDK middleware for `wrapLanguageModel` that puts Lookout's guards around any AI SDK model:
 * the newest user message before the call, tool results in the prompt before the model reads
 * them, tool calls before the caller sees them, and the model's text, which in a stream is held
 * back until a check covered it.
 */
export function guardMiddleware(options: AiSdkGuardOptions): LanguageModelMiddleware {
  const timeout = options.guardTimeoutMs ?? 10_000;
  if (!(timeout > 0)) throw new AiSdkGuardError('ai-sdk-invalid-options', `guardTimeoutMs must be a positive number of milliseconds, got ${options.guardTimeoutMs}.`);
  const chunkChars = options.outputChunkChars ?? 200;
  const overlapChars = options.outputOverlapChars ?? 64;
  if (!(chunkChars >= 1) || !(overlapChars >= 0)) {
    throw new AiSdkGuardError('ai-sdk-invalid-options', `outputChunkChars must be at least 1 and outputOverlapChars at least 0; got ${chunkChars} and ${overlapChars}.`);
  }
  let guards: Record<Stage, ResolvedGuard[]> = {
    input: resolveGuards(options.input, timeout, 'input'),
    output: resolveGuards(options.output, timeout, 'output'),
    'tool-call': resolveGuards(options.toolCall, timeout, 'toolCall'),
    'tool-result': resolveGuards(options.toolResult, timeout, 'toolResult'),
  };
  if (options.verdictCache !== false) guards = withRunCache(guards, new VerdictCache({ maxEntries: options.verdictCache?.maxEntries ?? 1000 }));
  const refusal = options.refusal ?? "Sorry, I can't help with that.";
  const notice = (toolName: string, verdict: Verdict) =>
    typeof options.toolResultNotice === 'function'
      ? options.toolResultNotice({ toolName, verdict })
      : (options.toolResultNotice ?? `The result of tool "${toolName}" was withheld by guard "${verdict.guard}".`);
  /** Calls whose input was blocked, keyed by the params the wrapped call receives. */
  const blockedInput = new WeakSet<object>();

  const check = async (stage: Stage, subject: GuardSubject, signal?: AbortSignal, toolCallId?: string): Promise<StageDecision> => {
    const { decision } = await runStage(guards[stage], subject, {
      signal,
      onVerdict: ({ verdict, action }) => options.onVerdict?.({ stage, action, verdict: publicVerdict(stage, verdict), ...(toolCallId ? { toolCallId } : {}) }),
    });
    return decision;
  };

  const checkToolCall = async (part: { toolCallId: string; toolName: string; input: string }, conversation: ChatMessage[], signal?: AbortSignal) => {
    if (guards['tool-call'].length === 0) return true;
    let args: unknown = part.input;
    try {
      args = JSON.parse(part.input);
    } catch {
      // Arguments that are not JSON are checked as text.
    }
    const decision = await check('tool-call', { stage: 'tool-call', conversation, content: { text: part.input, images: [] }, tool: { name: part.toolName, arguments: args } }, signal, part.toolCallId);
    return decision.kind === 'pass';
  };

  return {
    specificationVersion: 'v4',

    async transformParams({ params }) {
      const prompt = params.prompt;
      const signal = params.abortSignal;
      const next: Prompt = [];
      let inputBlocked = false;
      for (const [index, message] of prompt.entries()) {
        const conversation = toConversation(prompt.slice(0, index));
        if (message.role === 'tool' && guards['tool-result'].length > 0) {
          const content = await Promise.all(
            message.content.map(async (part) => {
              if (part.type !== 'tool-result') return part;
              const { text, images } = outputContent(part.output);
              const decision = await check('tool-result', { stage: 'tool-result', conversation, content: { text, images }, tool: { name: part.toolName } }, signal, part.toolCallId);
              if (decision.kind === 'block') return { ...part, output: { type: 'text' as const, value: notice(part.toolName, decision.verdict) } };
              if (decision.kind === 'redact') return { ...part, output: { type: 'text' as const, value: decision.text } };
              return part;
            }),
          );
          next.push({ ...message, content });
          continue;
        }
        if (message.role === 'user' && index === prompt.length - 1 && guards.input.length > 0) {
          const texts = message.content.flatMap((p) => (p.type === 'text' ? [p] : []));
          const text = texts.map((p) => p.text).join('\n');
          const decision = await check('input', { stage: 'input', conversation, content: { text, images: imagesOf(message.content) } }, signal);
          if (decision.kind === 'block' || (decision.kind === 'redact' && texts.length !== 1)) {
            inputBlocked = true;
          } else if (decision.kind === 'redact') {
            next.push({ ...message, content: message.content.map((p) => (p === texts[0] ? { ...p, text: decision.text } : p)) });
            continue;
          }
        }
        next.push(message);
      }
      const transformed = { ...params, prompt: next };
      if (inputBlocked) blockedInput.add(transformed);
      return transformed;
    },

    async wrapGenerate({ doGenerate, params }) {
      if (blockedInput.has(params)) {
        return { content: [{ type: 'text', text: refusal }], finishReason: FILTERED, usage: NO_USAGE, warnings: [] } as GenerateResult;
      }
      const result = await doGenerate();
      const conversation = toConversation(params.prompt);
      const text = result.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
      const refused = { ...result, content: [{ type: 'text' as const, text: refusal }], finishReason: FILTERED } as GenerateResult;
      let replacement: string | undefined;
      if (text && guards.output.length > 0) {
        const decision = await check('output', { stage: 'output', conversation, content: { text, images: [] } }, params.abortSignal);
        if (decision.kind === 'block') return refused;
        if (decision.kind === 'redact') replacement = decision.text;
      }
      for (const part of result.content) {
        if (part.type === 'tool-call' && !(await checkToolCall(part, conversation, params.abortSignal))) return refused;
      }
      if (replacement === undefined) return result;
      // The redacted text replaces the first text part; the others are folded into it.
      let placed = false;
      const content: GenerateResult['content'] = [];
      for (const p of result.content) {
        if (p.type !== 'text') content.push(p);
        else if (!placed) {
          placed = true;
          content.push({ ...p, text: replacement });
        }
      }
      return { ...result, content };
    },

    async wrapStream({ doStream, params }) {
      if (blockedInput.has(params)) return { stream: refusalStream(refusal) };
      const result = await doStream();
      if (guards.output.length === 0 && guards['tool-call'].length === 0) return result;
      const conversation = toConversation(params.prompt);
      return { ...result, stream: guardedStream(result.stream, conversation, params.abortSignal) };
    },
  };

  function guardedStream(source: ReadableStream<StreamPart>, conversation: ChatMessage[], signal?: AbortSignal): ReadableStream<StreamPart> {
    const reader = source.getReader();
    const out: StreamPart[] = [];
    let textId: string | undefined;
    /** Parts that came after held text: they go out once the text before them is released. */
    let waiting: StreamPart[] = [];
    /** Streamed tool input, held until its tool call passed the tool-call guards. */
    const toolInput = new Map<string, StreamPart[]>();
    let done = false;
    let pushed = 0;
    const moderator = new OutputModerator({
      chunkChars,
      overlapChars,
      ...(options.outputHoldbackChars !== undefined ? { holdbackChars: options.outputHoldbackChars } : {}),
      guarded: guards.output.length > 0,
      check: (text) => check('output', { stage: 'output', conversation, content: { text, images: [] } }, signal),
      release: (delta) => out.push({ type: 'text-delta', id: textId ?? 'text', delta } as StreamPart),
    });
    // Text pushed but not yet released (after a redaction this errs towards holding).
    const held = () => moderator.released.length < pushed;

    const block = async () => {
      done = true;
      await reader.cancel().catch(() => {});
      if (textId === undefined) {
        textId = 'lookout-refusal';
        out.push({ type: 'text-start', id: textId } as StreamPart);
      }
      out.push({ type: 'text-delta', id: textId, delta: (moderator.released ? '\n\n' : '') + refusal } as StreamPart);
      out.push({ type: 'text-end', id: textId } as StreamPart);
      out.push({ type: 'finish', usage: NO_USAGE, finishReason: FILTERED } as StreamPart);
    };

    const step = async (): Promise<void> => {
      const { value: part, done: ended } = await reader.read();
      if (ended) {
        // A stream that ends without 'finish' still gets its text checked.
        await moderator.checkpoint(true);
        if (moderator.blockedBy) return block();
        out.push(...waiting);
        waiting = [];
        if (textId !== undefined) out.push({ type: 'text-end', id: textId } as StreamPart);
        done = true;
        return;
      }
      switch (part.type) {
        case 'text-start':
          if (textId === undefined) {
            textId = part.id;
            out.push(part);
          }
          return;
        case 'text-end':
          return;
        case 'text-delta':
          moderator.push(part.delta);
          pushed += part.delta.length;
          if (moderator.due) await moderator.checkpoint(false);
          if (moderator.blockedBy) return block();
          out.push(...(held() ? [] : drain()));
          return;
        case 'tool-input-start':
        case 'tool-input-delta':
        case 'tool-input-end':
          if (guards['tool-call'].length > 0) {
            toolInput.set(part.id, [...(toolInput.get(part.id) ?? []), part]);
            return;
          }
          break;
        case 'tool-call': {
          if (!(await checkToolCall(part, conversation, signal))) return block();
          const input = toolInput.get(part.toolCallId) ?? [];
          toolInput.delete(part.toolCallId);
          (held() ? waiting : out).push(...input, part);
          return;
        }
        case 'finish': {
          await moderator.checkpoint(true);
          if (moderator.blockedBy) return block();
          out.push(...waiting);
          waiting = [];
          if (textId !== undefined) out.push({ type: 'text-end', id: textId } as StreamPart);
          out.push(part);
          done = true;
          await reader.cancel().catch(() => {});
          return;
        }
        default:
          break;
      }
      (held() ? waiting : out).push(part);
    };

    function drain(): StreamPart[] {
      const parts = waiting;
      waiting = [];
      return parts;
    }

    return new ReadableStream<StreamPart>({
      async pull(controller) {
        try {
          while (out.length === 0 && !done) await step();
        } catch (error) {
          controller.enqueue({ type: 'error', error } as StreamPart);
          controller.close();
          await reader.cancel().catch(() => {});
          return;
        }
        while (out.length > 0) controller.enqueue(out.shift()!);
        if (done) controller.close();
      },
      async cancel(reason) {
        done = true;
        await reader.cancel(reason).catch(() => {});
      },
    });
  }
}

function refusalStream(text: string): ReadableStream<StreamPart> {
  const parts = [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 'lookout-refusal' },
    { type: 'text-delta', id: 'lookout-refusal', delta: text },
    { type: 'text-end', id: 'lookout-refusal' },
    { type: 'finish', usage: NO_USAGE, finishReason: FILTERED },
  ] as StreamPart[];
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
}

type FilePart = { type: 'file'; data: { type: string; data?: Uint8Array | string; url?: URL }; mediaType: string };

/** Images of a message as guards take them: bytes, data: URLs or http(s) URLs. */
function imagesOf(parts: ReadonlyArray<{ type: string }>): ImageInput[] {
  const images: ImageInput[] = [];
  for (const part of parts) {
    if (part.type !== 'file') continue;
    const { data, mediaType } = part as unknown as FilePart;
    if (!mediaType.startsWith('image/')) continue;
    if (data.type === 'data' && data.data instanceof Uint8Array) images.push(data.data);
    else if (data.type === 'data' && typeof data.data === 'string') images.push(`data:${mediaType};base64,${data.data}`);
    else if (data.type === 'url' && data.url) images.push(data.url.href);
  }
  return images;
}

/** The text and images of a tool result's output. */
function outputContent(output: ToolResultOutput): { text: string; images: ImageInput[] } {
  switch (output.type) {
    case 'text':
    case 'error-text':
      return { text: output.value, images: [] };
    case 'json':
    case 'error-json':
      return { text: JSON.stringify(output.value), images: [] };
    case 'execution-denied':
      return { text: output.reason ?? '', images: [] };
    case 'content': {
      const parts = output.value as ReadonlyArray<{ type: string; text?: string }>;
      return { text: parts.flatMap((p) => (p.type === 'text' && p.text ? [p.text] : [])).join('\n'), images: imagesOf(parts) };
    }
    default:
      return { text: JSON.stringify(output), images: [] };
  }
}

/** The prompt as the guards' conversation: text of every message, tool results as tool messages. */
function toConversation(prompt: Prompt): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of prompt) {
    if (message.role === 'system') out.push({ role: 'system', content: message.content });
    else if (message.role === 'user') out.push({ role: 'user', content: message.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n') });
    else if (message.role === 'assistant') out.push({ role: 'assistant', content: message.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('') });
    else {
      for (const part of message.content) {
        if (part.type === 'tool-result') out.push({ role: 'tool', toolCallId: part.toolCallId, name: part.toolName, content: outputContent(part.output).text });
      }
    }
  }
  return out;
}
