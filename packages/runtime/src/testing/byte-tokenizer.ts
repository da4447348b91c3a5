/**
 * A tokenizer double for tests and benchmarks: each id stands for a fixed byte string, so
 * multi-byte characters can be split across tokens the way byte-level BPE splits them.
 */
import type { TokenDecoder } from '../generation/streaming/tokenizer-like.js';

export class ByteTableTokenizer implements TokenDecoder {
  private readonly table: Uint8Array[];
  constructor(entries: Array<string | number[]>) {
    const enc = new TextEncoder();
    this.table = entries.map((e) => (typeof e === 'string' ? enc.encode(e) : Uint8Array.from(e)));
  }
  get size(): number {
    return this.table.length;
  }
  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => this.table[id] ?? new Uint8Array());
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return new TextDecoder().decode(bytes);
  }
}
