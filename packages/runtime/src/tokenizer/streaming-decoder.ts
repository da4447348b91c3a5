/**
 * Incremental detokenizer: feed token ids as they are generated, get text deltas back, never
 * half a UTF-8 character. A byte-level BPE token can end in the middle of a character, which
 * decodes to U+FFFD, so a delta is only released once the text decoded so far no longer ends in
 * U+FFFD. Only a short window of recent ids is decoded again per step (the prefix/read offset
 * scheme of TGI's and HF's streamers), so any tokenizer with a `decode` works: LlamaTokenizer,
 * generation's tokenizer doubles.
 */

/** What the streaming decoder needs from a tokenizer: ids back to text. */
export interface TokenDecoder {
  /** Text of the ids; an incomplete UTF-8 sequence at the end decodes to U+FFFD. */
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
}

export interface StreamingDecoderOptions {
  /** Drop special tokens (<|eot_id|>, <|image|> ...) instead of writing their names. */
  skipSpecial?: boolean;
}

const REPLACEMENT = '\uFFFD';

export class StreamingDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  private readonly decodeOptions: { skipSpecial?: boolean };

  constructor(
    private readonly tokenizer: TokenDecoder,
    options: StreamingDecoderOptions = {},
  ) {
    this.decodeOptions = { skipSpecial: options.skipSpecial };
  }

  /**
   * Feeds one or more ids; returns the text that is now complete ('' while a character is
   * incomplete). An id the tokenizer rejects throws and is not kept.
   */
  push(ids: number | readonly number[]): string {
    if (typeof ids === 'number') return this.pushOne(ids);
    let text = '';
    for (const id of ids) text += this.pushOne(id);
    return text;
  }

  /** Ends the stream: whatever is still held back (an incomplete or invalid sequence shows as U+FFFD). */
  flush(): string {
    const prefix = this.decode(this.prefixOffset, this.readOffset);
    const full = this.decode(this.prefixOffset, this.ids.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }

  /** The decoder as a web TransformStream of ids (or id arrays) to text deltas. */
  toTransformStream(): TransformStream<number | readonly number[], string> {
    return new TransformStream({
      transform: (chunk, controller) => {
        const delta = this.push(chunk);
        if (delta) controller.enqueue(delta);
      },
      flush: (controller) => {
        const rest = this.flush();
        if (rest) controller.enqueue(rest);
      },
    });
  }

  private pushOne(id: number): string {
    this.ids.push(id);
    let prefix: string;
    let full: string;
    try {
      prefix = this.decode(this.prefixOffset, this.readOffset);
      full = this.decode(this.prefixOffset, this.ids.length);
    } catch (error) {
      this.ids.pop();
      throw error;
    }
    if (full.length > prefix.length && !full.endsWith(REPLACEMENT)) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return '';
  }

  private decode(from: number, to: number): string {
    return from >= to ? '' : this.tokenizer.decode(this.ids.slice(from, to), this.decodeOptions);
  }
}
