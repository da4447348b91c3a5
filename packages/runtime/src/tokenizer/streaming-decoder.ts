/**
 * Incremental detokenizer: feed token ids as they are generated, get text deltas back. A byte-level
 * BPE token can end in the middle of a UTF-8 character, so bytes are held back until the character
 * is complete (TextDecoder's streaming mode does exactly that).
 */

export interface TokenByteSource {
  /** Bytes of an ordinary (non-added) token, or undefined if the id is an added/special token. */
  tokenBytes(id: number): Uint8Array | undefined;
  /** Text of an added token (e.g. "<|eot_id|>"); throws for ids that do not exist. */
  addedTokenText(id: number): string;
  isSpecial(id: number): boolean;
}

export interface StreamingDecoderOptions {
  /** Drop special tokens (<|eot_id|>, <|image|> ...) instead of writing their names. */
  skipSpecial?: boolean;
}

export class StreamingDecoder {
  private utf8 = new TextDecoder('utf-8', { fatal: false });
  private readonly skipSpecial: boolean;

  constructor(
    private readonly source: TokenByteSource,
    options: StreamingDecoderOptions = {},
  ) {
    this.skipSpecial = options.skipSpecial ?? false;
  }

  /** Feeds one or more ids; returns the text that is now complete (possibly ""). */
  push(ids: number | readonly number[]): string {
    const list = typeof ids === 'number' ? [ids] : ids;
    let text = '';
    for (const id of list) {
      const bytes = this.source.tokenBytes(id);
      if (bytes) {
        text += this.utf8.decode(bytes, { stream: true });
        continue;
      }
      const added = this.source.addedTokenText(id);
      if (this.skipSpecial && this.source.isSpecial(id)) continue;
      // An added token ends any half character before it: flush what is pending first.
      text += this.utf8.decode() + added;
    }
    return text;
  }

  /** Ends the stream; an incomplete trailing character comes out as U+FFFD. */
  flush(): string {
    return this.utf8.decode();
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
}
