/**
 * Streams text deltas from a growing list of token ids without ever splitting a UTF-8
 * character: byte-level BPE tokens can end mid-character, which decodes to U+FFFD, so a delta is
 * only released once the text decoded so far no longer ends in U+FFFD. Only a short window of
 * recent ids is re-decoded per step (the prefix/read offset scheme used by TGI and HF streamers).
 */
import type { TokenDecoder } from './tokenizer-like.js';

const REPLACEMENT = '\uFFFD';

export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(
    private readonly tokenizer: TokenDecoder,
    private readonly options: { skipSpecial?: boolean } = {},
  ) {}

  /** Adds one token and returns the newly complete text ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decode(this.prefixOffset, this.readOffset);
    const full = this.decode(this.prefixOffset, this.ids.length);
    if (full.length > prefix.length && !full.endsWith(REPLACEMENT)) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return '';
  }

  /** Whatever is still held back (a genuinely invalid byte sequence shows as U+FFFD). */
  flush(): string {
    const prefix = this.decode(this.prefixOffset, this.readOffset);
    const full = this.decode(this.prefixOffset, this.ids.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }

  private decode(from: number, to: number): string {
    return from >= to ? '' : this.tokenizer.decode(this.ids.slice(from, to), this.options);
  }
}
