/**
 * What OnnxModel needs from the rest of the runtime, as small interfaces: a tokenizer that can
 * encode prompt segments, a chat protocol (prompt rendering and tool-call parsing) and a vision
 * input builder. The defaults wire in the runtime's own tokenizer/, chat/ and images/; tests
 * pass doubles.
 */
import type { ForwardEngine, VisionInputs } from '../../model/engine.js';
import type { ChatMessage, ImageInput, PromptSegment, ToolSpec } from '../../model/types.js';
import type { TokenDecoder } from '../streaming/tokenizer-like.js';

export interface ModelTokenizer extends TokenDecoder {
  /** Special tokens only from `template` segments; `image` segments become the image token. */
  encodeSegments(segments: readonly PromptSegment[]): number[];
  /** The <|image|> id; throws for tokenizers without one. */
  imageId(): number;
}

/** What a parser makes of the model's streamed output. */
export type OutputEvent =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; name: string; arguments: unknown; id?: string }
  | { type: 'tool-call-error'; raw: string; message: string };

/** Incremental: fed text deltas as they are released; holds back text that may be a tool call. */
export interface OutputParser {
  push(delta: string): OutputEvent[];
  end(): OutputEvent[];
}

export interface ChatProtocol {
  /** Renders messages (and tool schemas) into segments ending with an open assistant turn. */
  render(messages: ChatMessage[], tools: ToolSpec[]): PromptSegment[] | Promise<PromptSegment[]>;
  /** A parser for one reply when tools were offered. */
  createOutputParser(tools: ToolSpec[]): OutputParser;
}

export type VisionPreparer = (images: ImageInput[], inputIds: number[], imageTokenId: number) => Promise<VisionInputs>;

/** Everything an OnnxModel runs on: OnnxModel.load builds them from a model directory; tests pass their own. */
export interface OnnxModelParts {
  id: string;
  engine: ForwardEngine;
  tokenizer: ModelTokenizer;
  chat: ChatProtocol;
  /** Absent for text-only models: image inputs are then rejected. */
  prepareVision?: VisionPreparer;
  /** generation_config.json `eos_token_id`. */
  eosIds: number[];
  /** Requests allowed to wait behind the running one (default 16). */
  maxQueue?: number;
  /** Used when a request gives no sampling.maxTokens (default 512). */
  defaultMaxTokens?: number;
  /** Tokens per forward run when the engine and request allow it (generate's `decodeChunk`, default 16). */
  decodeChunk?: number;
  /**
   * Starts a fresh engine after the current one's worker thread died (OnnxModel.load sets it
   * for worker engines): the request that saw the crash fails, the next one gets a new worker.
   */
  restartEngine?: () => Promise<ForwardEngine>;
}
