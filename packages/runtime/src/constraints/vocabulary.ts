/**
 * The model's vocabulary as a byte trie, built once per tokenizer: masks are computed by walking
 * the trie and the automaton together, so tokens that share a prefix share the work and a
 * rejected byte prunes every token below it.
 */
import { ConstraintError } from './errors.js';

/** What constraints need from a tokenizer (LlamaTokenizer has it). */
export interface VocabularySource {
  readonly vocabSize: number;
  /** The bytes a token decodes to; undefined for added (special) tokens. */
  tokenBytes(id: number): Uint8Array | undefined;
  isSpecial?(id: number): boolean;
}

export function isVocabularySource(value: unknown): value is VocabularySource {
  const v = value as Partial<VocabularySource> | undefined;
  return typeof v?.vocabSize === 'number' && typeof v.tokenBytes === 'function';
}

export class VocabularyTrie {
  /** Node n's first child and next sibling (-1: none), the byte that leads to it. */
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  readonly byteOf: Uint8Array;
  /** First token id ending at a node, -1 for none; more in `moreTokens`. */
  readonly tokenAt: Int32Array;
  readonly moreTokens = new Map<number, number[]>();
  readonly bytes: (Uint8Array | undefined)[];
  /** Bytes that are a token on their own (steering to completion needs all 256). */
  readonly singleByteTokens: number;
  readonly nodeCount: number;

  constructor(source: VocabularySource) {
    const size = source.vocabSize;
    this.bytes = new Array(size);
    const order: number[] = [];
    let total = 1;
    let single = 0;
    for (let id = 0; id < size; id++) {
      if (source.isSpecial?.(id)) continue;
      let b: Uint8Array | undefined;
      try {
        b = source.tokenBytes(id);
      } catch {
        b = undefined;
      }
      if (!b || b.length === 0) continue;
      this.bytes[id] = b;
      order.push(id);
      total += b.length;
      if (b.length === 1) single++;
    }
    if (order.length === 0) throw new ConstraintError('CONSTRAINT_UNSUPPORTED_TOKENIZER', 'The tokenizer has no byte-level tokens to constrain.');
    this.singleByteTokens = single;
    const bytes = this.bytes as Uint8Array[];
    // Children are linked as sibling lists; the root's 256 are also in a table, deeper nodes
    // have few children and are scanned.
    const firstChild = new Int32Array(total).fill(-1);
    const nextSibling = new Int32Array(total).fill(-1);
    const byteOf = new Uint8Array(total);
    const tokenAt = new Int32Array(total).fill(-1);
    const rootChild = new Int32Array(256).fill(-1);
    let nodes = 1;
    for (const id of order) {
      const b = bytes[id];
      let node = 0;
      for (let i = 0; i < b.length; i++) {
        const byte = b[i];
        let next: number;
        if (node === 0) next = rootChild[byte];
        else for (next = firstChild[node]; next >= 0 && byteOf[next] !== byte; next = nextSibling[next]);
        if (next < 0) {
          next = nodes++;
          byteOf[next] = byte;
          nextSibling[next] = firstChild[node];
          firstChild[node] = next;
          if (node === 0) rootChild[byte] = next;
        }
        node = next;
      }
      if (tokenAt[node] < 0) tokenAt[node] = id;
      else {
        const more = this.moreTokens.get(node) ?? [];
        more.push(id);
        this.moreTokens.set(node, more);
      }
    }
    this.nodeCount = nodes;
    this.firstChild = firstChild.subarray(0, nodes);
    this.nextSibling = nextSibling.subarray(0, nodes);
    this.byteOf = byteOf.subarray(0, nodes);
    this.tokenAt = tokenAt.subarray(0, nodes);
  }
}

const TRIES = new WeakMap<object, VocabularyTrie>();

/** The trie of a tokenizer, built on first use. */
export function vocabularyTrie(source: VocabularySource): VocabularyTrie {
  let trie = TRIES.get(source);
  if (!trie) {
    trie = new VocabularyTrie(source);
    TRIES.set(source, trie);
  }
  return trie;
}
