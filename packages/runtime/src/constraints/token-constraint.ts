/**
 * A constraint over token ids: the automaton of a compiled grammar walked together with the
 * vocabulary trie gives, for the current state, the set of tokens whose bytes keep the output a
 * prefix of a valid value. Masks are cached by state key in the compiled grammar, so they are
 * shared by every generation with the same schema and tokenizer.
 *
 * Termination: `dist` is the shortest completion in bytes, and every byte is a token of its own
 * in a byte-level vocabulary, so while dist <= tokens left the value can always be finished.
 * Close to the limit the mask keeps only tokens after which that still holds (steering).
 */
import { accepting, DONE, dist, feed, inPlainString, initialState, plainStringState, stateKey, type Stack } from './automaton.js';
import { ConstraintError } from './errors.js';
import { maxGrowth, type ValueNode } from './nodes.js';
import type { VocabularyTrie } from './vocabulary.js';

/**
 * The tokens allowed in one state, ordered by how much each changes the shortest completion
 * (`delta` = dist after the token - dist before): steering keeps a prefix of the list.
 */
export interface TokenMask {
  ids: Int32Array;
  /** Distinct deltas, ascending, and the end (in `ids`) of each one's run. */
  deltas: Int32Array;
  ends: Int32Array;
  /**
   * For masks that allow most of the vocabulary (inside a string): the ids NOT allowed, so that
   * applying the mask is a copy of the logits and a few writes of -Infinity.
   */
  excluded?: Int32Array;
}

/**
 * Bytes all cached masks may take together, across grammars (a mask inside a string holds
 * ~123,000 ids, ≈ 0.5 MB): least recently used masks are dropped past it.
 */
let maskBudgetBytes = 256 * 1024 * 1024;
let maskBytes = 0;
/** Every cached mask, least recently used first. */
const maskLru = new Map<string, { grammar: CompiledGrammar; key: string; bytes: number }>();
let grammarIds = 0;

/** Sets the byte budget of cached masks (default 256 MiB); returns the previous one. */
export function setMaskCacheBudget(bytes: number): number {
  const previous = maskBudgetBytes;
  maskBudgetBytes = bytes;
  trimMasks();
  return previous;
}

/** Bytes held by cached masks now. */
export function maskCacheBytes(): number {
  return maskBytes;
}

function trimMasks(): void {
  for (const [id, entry] of maskLru) {
    if (maskBytes <= maskBudgetBytes) break;
    maskLru.delete(id);
    maskBytes -= entry.bytes;
    entry.grammar.forget(entry.key);
  }
}

/** A grammar bound to a vocabulary, with its mask cache; reusable across generations. */
export class CompiledGrammar {
  private readonly masks = new Map<string, TokenMask>();
  private readonly id = grammarIds++;
  /** How far before the limit steering starts (bytes of completion a token may add). */
  readonly steerMargin: number;
  /** Masks computed (cache misses), for benchmarks and tests. */
  computed = 0;

  constructor(
    readonly root: ValueNode,
    readonly trie: VocabularyTrie,
    /** Inside strings, take plain content tokens from a per-vocabulary table (default) or walk the trie. */
    readonly stringTable = true,
  ) {
    this.steerMargin = 2 * maxGrowth(root) + 8;
  }

  /** A fresh per-generation constraint. */
  start(eosIds: readonly number[]): TokenConstraint {
    return new TokenConstraint(this, eosIds);
  }

  /** Tokens allowed in `state` (cached by state key). */
  mask(state: Stack): TokenMask {
    const key = stateKey(state);
    const lruKey = `${this.id}\u0000${key}`;
    let mask = this.masks.get(key);
    if (mask) {
      // Most recently used last.
      const entry = maskLru.get(lruKey);
      if (entry) {
        maskLru.delete(lruKey);
        maskLru.set(lruKey, entry);
      }
      return mask;
    }
    mask = this.compute(state);
    this.computed++;
    this.masks.set(key, mask);
    const bytes = mask.ids.byteLength + mask.deltas.byteLength + mask.ends.byteLength + key.length * 2 + 64;
    maskLru.set(lruKey, { grammar: this, key, bytes });
    maskBytes += bytes;
    trimMasks();
    return mask;
  }

  /** @internal Drops a cached mask (the global budget evicted it). */
  forget(key: string): void {
    this.masks.delete(key);
  }

  /** Masks cached for this grammar now. */
  get cachedMasks(): number {
    return this.masks.size;
  }

  private compute(state: Stack): TokenMask {
    const { firstChild, nextSibling, byteOf, tokenAt, moreTokens } = this.trie;
    const base = dist(state);
    const ids: number[] = [];
    const deltas: number[] = [];
    if (this.stringTable && inPlainString(state)) return this.stringMask(state, base);
    const walk = (node: number, s: Stack) => {
      for (let child = firstChild[node]; child >= 0; child = nextSibling[child]) {
        const next = feed(s, byteOf[child]);
        if (next === null) continue;
        const id = tokenAt[child];
        if (id >= 0) {
          const delta = dist(next) - base;
          ids.push(id);
          deltas.push(delta);
          const more = moreTokens.get(child);
          if (more) for (const m of more) ids.push(m), deltas.push(delta);
        }
        if (next !== DONE && firstChild[child] >= 0) walk(child, next);
      }
    };
    walk(0, state);
    return this.sortMask(ids, deltas);
  }

  /**
   * Inside a string most tokens are plain content whose effect does not depend on what the
   * string belongs to: those come from a per-vocabulary table (already ordered by delta); only
   * the tokens that close the string are fed through the automaton.
   */
  private stringMask(state: Stack, base: number): TokenMask {
    const table = stringTokenTable(this.trie);
    const extra = new Map<number, number[]>();
    const allowedClosing = new Set<number>();
    for (const id of table.closing) {
      let s: Stack | null = state;
      for (const b of this.trie.bytes[id]!) if ((s = s && feed(s, b)) === null) break;
      if (!s) continue;
      const delta = dist(s) - base;
      const list = extra.get(delta) ?? [];
      list.push(id);
      extra.set(delta, list);
      allowedClosing.add(id);
    }
    const values = [...new Set([...table.deltas, ...extra.keys()])].sort((a, b) => a - b);
    const ids = new Int32Array(table.ids.length + allowedClosing.size);
    const ends = new Int32Array(values.length);
    let at = 0;
    values.forEach((delta, i) => {
      const k = table.deltas.indexOf(delta);
      if (k >= 0) {
        const from = k === 0 ? 0 : table.ends[k - 1];
        ids.set(table.ids.subarray(from, table.ends[k]), at);
        at += table.ends[k] - from;
      }
      for (const id of extra.get(delta) ?? []) ids[at++] = id;
      ends[i] = at;
    });
    const excluded = table.excluded.filter((id) => !allowedClosing.has(id));
    return { ids, deltas: Int32Array.from(values), ends, excluded };
  }

  private sortMask(ids: number[], deltas: number[]): TokenMask {
    // Counting sort by delta (deltas are small integers).
    let lo = 0;
    let hi = 0;
    for (const d of deltas) {
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    const counts = new Int32Array(hi - lo + 2);
    for (const d of deltas) counts[d - lo + 1]++;
    const distinctList: number[] = [];
    const endList: number[] = [];
    for (let v = 1; v < counts.length; v++) {
      if (counts[v] > 0) {
        distinctList.push(v - 1 + lo);
        endList.push(counts[v - 1] + counts[v]);
      }
      counts[v] += counts[v - 1];
    }
    // counts[v] is now where delta (v + lo) starts.
    const sorted = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) sorted[counts[deltas[i] - lo]++] = ids[i];
    const distinct = Int32Array.from(distinctList);
    const ends = Int32Array.from(endList);
    const size = this.trie.bytes.length;
    if (sorted.length > size / 2) {
      const allowed = new Uint8Array(size);
      for (const id of sorted) allowed[id] = 1;
      const excluded: number[] = [];
      for (let id = 0; id < size; id++) if (!allowed[id]) excluded.push(id);
      return { ids: sorted, deltas: distinct, ends, excluded: Int32Array.from(excluded) };
    }
    return { ids: sorted, deltas: distinct, ends };
  }
}

interface StringTokenTable {
  /** Tokens that stay inside a string, ordered by how each changes the shortest completion. */
  ids: Int32Array;
  /** Distinct deltas, ascending, and the end (in `ids`) of each one's run. */
  deltas: number[];
  ends: number[];
  /** Tokens that close the string (their effect depends on what follows it). */
  closing: Int32Array;
  /** Every id not among `ids` (closing, invalid inside a string, special, past the tokenizer). */
  excluded: Int32Array;
}

const STRING_TABLES = new WeakMap<VocabularyTrie, StringTokenTable>();

/** Every token classified from inside a string, once per vocabulary. */
function stringTokenTable(trie: VocabularyTrie): StringTokenTable {
  let table = STRING_TABLES.get(trie);
  if (table) return table;
  const start = plainStringState();
  const byDelta = new Map<number, number[]>();
  const closing: number[] = [];
  const inside = new Uint8Array(trie.bytes.length);
  trie.bytes.forEach((bytes, id) => {
    if (!bytes) return;
    let s: Stack | null = start;
    for (const b of bytes) {
      s = feed(s, b);
      if (s === null) return;
      if (s === DONE) {
        closing.push(id);
        return;
      }
    }
    const delta = dist(s) - 1;
    const list = byDelta.get(delta) ?? [];
    list.push(id);
    byDelta.set(delta, list);
    inside[id] = 1;
  });
  const deltas = [...byDelta.keys()].sort((a, b) => a - b);
  const ids: number[] = [];
  const ends: number[] = [];
  for (const d of deltas) {
    for (const id of byDelta.get(d)!) ids.push(id);
    ends.push(ids.length);
  }
  const excluded: number[] = [];
  for (let id = 0; id < inside.length; id++) if (!inside[id]) excluded.push(id);
  table = { ids: Int32Array.from(ids), deltas, ends, closing: Int32Array.from(closing), excluded: Int32Array.from(excluded) };
  STRING_TABLES.set(trie, table);
  return table;
}

/** One generation's walk through a grammar. */
export class TokenConstraint {
  private state: Stack;
  private readonly eos: readonly number[];

  constructor(
    readonly grammar: CompiledGrammar,
    eosIds: readonly number[],
  ) {
    this.state = initialState(grammar.root);
    this.eos = eosIds;
  }

  /** The value is complete (an end-of-sequence token may come now). */
  get complete(): boolean {
    return accepting(this.state);
  }

  /** Complete, and nothing can follow: the generation can end without asking the model. */
  get finished(): boolean {
    return this.state === DONE;
  }

  /** Inside a string, after no escape or partial character (most of the vocabulary allowed). */
  get inString(): boolean {
    return inPlainString(this.state);
  }

  /** Shortest completion in bytes (0 when complete). */
  get remainingBytes(): number {
    return dist(this.state);
  }

  /**
   * Writes into `out` the logits with every token outside the mask at -Infinity. `tokensLeft`
   * (this one included) turns on steering when the budget gets close to the completion.
   */
  applyMask(logits: Float32Array, out: Float32Array, tokensLeft = Infinity): void {
    const mask = this.grammar.mask(this.state);
    let count = mask.ids.length;
    const d = dist(this.state);
    const steer = tokensLeft <= d + this.grammar.steerMargin;
    const n = Math.min(logits.length, out.length);
    if (!steer && mask.excluded) {
      out.set(logits.length === out.length ? logits : logits.subarray(0, n));
      for (const id of mask.excluded) if (id < n) out[id] = -Infinity;
      // Ids past the tokenizer's vocabulary (padding rows of the logits) are never allowed.
      for (let id = this.grammar.trie.bytes.length; id < n; id++) out[id] = -Infinity;
      if (accepting(this.state)) for (const id of this.eos) if (id < n) out[id] = logits[id];
      return;
    }
    if (steer) {
      // After this token tokensLeft - 1 remain, and a completion can shrink by one byte per
      // token: keep the tokens after which it still fits (or, past that, those that shrink it).
      const slack = Math.max(tokensLeft - 1 - d, -1);
      count = 0;
      for (let i = 0; i < mask.deltas.length && mask.deltas[i] <= slack; i++) count = mask.ends[i];
    }
    out.fill(-Infinity);
    const ids = mask.ids;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id < n) out[id] = logits[id];
    }
    if (accepting(this.state)) for (const id of this.eos) if (id < n) out[id] = logits[id];
  }

  /**
   * Whether applyMask with the same `tokensLeft` would leave `id` unmasked, found by feeding the
   * token's bytes instead of building the mask: what the chunked constrained loop asks of each
   * token the model chose without a mask (generation/constrained-chunks.ts).
   */
  allows(id: number, tokensLeft = Infinity): boolean {
    if (this.eos.includes(id) && accepting(this.state)) return true;
    const next = this.next(id);
    // An empty token is in no mask (the trie's root is not a token).
    if (!next || this.grammar.trie.bytes[id]!.length === 0) return false;
    const d = dist(this.state);
    // Steering (see applyMask): only tokens after which the completion still fits.
    return tokensLeft > d + this.grammar.steerMargin || dist(next) - d <= Math.max(tokensLeft - 1 - d, -1);
  }

  /**
   * The one token the mask allows here, when there is exactly one and the value cannot end
   * (a forced piece of structure): it can be taken without sampling. Undefined otherwise; inside
   * a string (most of the vocabulary allowed) without building the mask.
   */
  forcedToken(tokensLeft = Infinity): number | undefined {
    if (this.state === DONE || accepting(this.state) || inPlainString(this.state)) return undefined;
    const mask = this.grammar.mask(this.state);
    let count = mask.ids.length;
    const d = dist(this.state);
    if (tokensLeft <= d + this.grammar.steerMargin) {
      const slack = Math.max(tokensLeft - 1 - d, -1);
      count = 0;
      for (let i = 0; i < mask.deltas.length && mask.deltas[i] <= slack; i++) count = mask.ends[i];
    }
    return count === 1 ? mask.ids[0] : undefined;
  }

  /** Moves past a chosen token (not an eos id). */
  advance(id: number): void {
    const s = this.next(id);
    if (!s) throw new ConstraintError('CONSTRAINT_VIOLATED', `Token ${id} does not continue the constrained output.`);
    this.state = s;
    this.peeked = undefined;
  }

  /** The last state a token was fed to (allows() then advance() feed the bytes once). */
  private peeked: { from: Stack; id: number; next: Stack | null } | undefined;

  /** The state after `id`'s bytes, or null when the automaton refuses them. */
  private next(id: number): Stack | null {
    const p = this.peeked;
    if (p && p.from === this.state && p.id === id) return p.next;
    const bytes = this.grammar.trie.bytes[id];
    let s: Stack | null = bytes ? this.state : null;
    if (bytes) for (const b of bytes) if (s) s = feed(s, b);
    this.peeked = { from: this.state, id, next: s };
    return s;
  }
}
