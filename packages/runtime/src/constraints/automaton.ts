/**
 * A byte-level pushdown automaton over value nodes. A state is an immutable stack of frames
 * (shared tails, so trying a byte never copies the stack); feeding a byte gives the next state or
 * null. Plain string content returns the very same state, which keeps the walk
 * over the vocabulary trie cheap. Every state has a cache key (equal keys accept the same byte
 * strings) and `dist`, the length in bytes of its shortest completion.
 *
 * Output is compact JSON, with at most one space after ':' and ','.
 */
import { MAX_ANY_DEPTH, type AnyNode, type ArrayNode, type LiteralsNode, type ObjectNode, type TaggedNode, type ValueNode } from './nodes.js';

export interface Stack {
  readonly frame: Frame;
  readonly next: Stack | null;
  key?: string;
  dist?: number;
}

/** The finished state: the whole value has been written. */
export const DONE: Stack = { frame: undefined as unknown as Frame, next: null, key: '', dist: 0 };

interface Frame {
  readonly key: string;
  /** Bytes still needed to finish this frame once the frames above it are finished. */
  readonly rest: number;
  /** True when this frame may end here without a closing byte (numbers, literals). */
  readonly canEnd: boolean;
  feed(byte: number, self: Stack): Stack | null;
}

const push = (frame: Frame, next: Stack | null): Stack => ({ frame, next });

/** The stack below a frame that has finished: DONE when it was the outermost. */
const pop = (self: Stack): Stack => self.next ?? DONE;

export function feed(state: Stack, byte: number): Stack | null {
  if (state === DONE) return null;
  return state.frame.feed(byte, state);
}

/** Passes a byte that ended a frame (a number, a literal) to the frames below it. */
function feedBelow(self: Stack, byte: number): Stack | null {
  return self.next ? self.next.frame.feed(byte, self.next) : null;
}

export function stateKey(state: Stack): string {
  if (state.key === undefined) state.key = state.next ? `${state.frame.key}|${stateKey(state.next)}` : state.frame.key;
  return state.key;
}

export function dist(state: Stack): number {
  if (state.dist === undefined) state.dist = state.frame.rest + (state.next ? dist(state.next) : 0);
  return state.dist;
}

/** True when the value is complete here (an end-of-sequence token may follow). */
export function accepting(state: Stack): boolean {
  return state === DONE || (state.next === null && state.frame.canEnd);
}

export function initialState(node: ValueNode): Stack {
  return push(new ValueFrame(node), null);
}

const B = (c: string) => c.charCodeAt(0);
const QUOTE = B('"');
const BACKSLASH = B('\\');
const COLON = B(':');
const COMMA = B(',');
const SPACE = B(' ');
const OPEN_BRACE = B('{');
const CLOSE_BRACE = B('}');
const OPEN_BRACKET = B('[');
const CLOSE_BRACKET = B(']');
const MINUS = B('-');
const DOT = B('.');
const isDigit = (b: number) => b >= 48 && b <= 57;

/** Starts a value of `node` with `byte`, on top of `below`. */
function startValue(node: ValueNode, byte: number, below: Stack | null): Stack | null {
  switch (node.kind) {
    case 'object':
      return byte === OPEN_BRACE ? push(ObjectFrame.open(node), below) : null;
    case 'array':
      return byte === OPEN_BRACKET ? push(new ArrayFrame(node, 'open'), below) : null;
    case 'string':
      return byte === QUOTE ? push(STRING_NORMAL, below) : null;
    case 'number':
      return startNumber(node.integer, byte, below);
    case 'literals':
      return startLiterals(node, byte, below);
    case 'any':
      return startAny(node, byte, below);
    case 'union':
      for (const option of node.options) {
        const s = startValue(option, byte, below);
        if (s) return s;
      }
      return null;
    case 'tagged': {
      const alive: number[] = [];
      node.alternatives.forEach((a, i) => a.prefix[0] === byte && alive.push(i));
      return alive.length ? settleTagged(node, alive, 1, below) : null;
    }
  }
}

/** A value not begun yet. */
class ValueFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd = false;
  constructor(readonly node: ValueNode) {
    this.key = `v${node.id}`;
    this.rest = node.minLen;
  }
  feed(byte: number, self: Stack): Stack | null {
    return startValue(this.node, byte, self.next);
  }
}

// ---------------------------------------------------------------------------------- strings

type StringPhase = 'normal' | 'escape' | 'hex' | 'utf8';

class StringFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd = false;
  /** hex digits or UTF-8 continuation bytes still due. */
  constructor(
    readonly phase: StringPhase,
    readonly due: number,
  ) {
    this.key = `s${phase[0]}${due}`;
    this.rest = phase === 'normal' ? 1 : phase === 'escape' ? 2 : due + 1;
  }
  feed(byte: number, self: Stack): Stack | null {
    switch (this.phase) {
      case 'normal':
        if (byte === QUOTE) return pop(self);
        if (byte === BACKSLASH) return push(STRING_ESCAPE, self.next);
        if (byte < 0x20) return null;
        if (byte < 0x80) return self;
        if (byte >= 0xc2 && byte <= 0xdf) return push(STRING_UTF8[1], self.next);
        if (byte >= 0xe0 && byte <= 0xef) return push(STRING_UTF8[2], self.next);
        if (byte >= 0xf0 && byte <= 0xf4) return push(STRING_UTF8[3], self.next);
        return null;
      case 'escape':
        if (byte === B('u')) return push(STRING_HEX[4], self.next);
        return ESCAPES.has(byte) ? push(STRING_NORMAL, self.next) : null;
      case 'hex':
        if (!isHex(byte)) return null;
        return push(this.due === 1 ? STRING_NORMAL : STRING_HEX[this.due - 1], self.next);
      case 'utf8':
        if (byte < 0x80 || byte > 0xbf) return null;
        return push(this.due === 1 ? STRING_NORMAL : STRING_UTF8[this.due - 1], self.next);
    }
  }
}

const ESCAPES = new Set([...'"\\/bfnrt'].map(B));
const isHex = (b: number) => isDigit(b) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70);
const STRING_NORMAL = new StringFrame('normal', 0);
const STRING_ESCAPE = new StringFrame('escape', 0);
const STRING_HEX = [0, 1, 2, 3, 4].map((n) => new StringFrame('hex', n));
const STRING_UTF8 = [0, 1, 2, 3].map((n) => new StringFrame('utf8', n));

// ---------------------------------------------------------------------------------- numbers

type NumberPhase = 'sign' | 'zero' | 'int' | 'dot' | 'frac' | 'exp' | 'expSign' | 'expDigits';
const NUMBER_ENDS = new Set<NumberPhase>(['zero', 'int', 'frac', 'expDigits']);
/**
 * Digits allowed per part, so that every number parses to a finite double and every integer to a
 * safe one: 15 integer digits, 15 fraction digits, an exponent of at most 2 digits.
 */
const MAX_DIGITS: Partial<Record<NumberPhase, number>> = { int: 15, frac: 15, expDigits: 2 };

class NumberFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd: boolean;
  constructor(
    readonly integer: boolean,
    readonly phase: NumberPhase,
    /** Digits so far in this part. */
    readonly digits: number,
  ) {
    this.key = `n${integer ? 'i' : 'f'}${phase}${digits}`;
    this.canEnd = NUMBER_ENDS.has(phase);
    this.rest = this.canEnd ? 0 : 1;
  }
  feed(byte: number, self: Stack): Stack | null {
    const next = this.next(byte);
    if (next) return push(next, self.next);
    return this.canEnd ? feedBelow(self, byte) : null;
  }
  private next(byte: number): NumberFrame | undefined {
    const digit = isDigit(byte);
    const to = (phase: NumberPhase, digits = 0) => numberFrame(this.integer, phase, digits);
    const more = () => (this.digits < MAX_DIGITS[this.phase]! ? to(this.phase, this.digits + 1) : undefined);
    switch (this.phase) {
      case 'sign':
        return byte === 48 ? to('zero') : digit ? to('int', 1) : undefined;
      case 'zero':
      case 'int':
        if (digit) return this.phase === 'int' ? more() : undefined;
        if (this.integer) return undefined;
        if (byte === DOT) return to('dot');
        return byte === B('e') || byte === B('E') ? to('exp') : undefined;
      case 'dot':
        return digit ? to('frac', 1) : undefined;
      case 'frac':
        if (digit) return more();
        return byte === B('e') || byte === B('E') ? to('exp') : undefined;
      case 'exp':
        return digit ? to('expDigits', 1) : byte === MINUS || byte === B('+') ? to('expSign') : undefined;
      case 'expSign':
        return digit ? to('expDigits', 1) : undefined;
      case 'expDigits':
        return digit ? more() : undefined;
    }
  }
}

const NUMBER_FRAMES = new Map<string, NumberFrame>();
function numberFrame(integer: boolean, phase: NumberPhase, digits = 0): NumberFrame {
  const key = `${integer}${phase}${digits}`;
  let frame = NUMBER_FRAMES.get(key);
  if (!frame) NUMBER_FRAMES.set(key, (frame = new NumberFrame(integer, phase, digits)));
  return frame;
}

function startNumber(integer: boolean, byte: number, below: Stack | null): Stack | null {
  if (byte === MINUS) return push(numberFrame(integer, 'sign'), below);
  if (byte === 48) return push(numberFrame(integer, 'zero'), below);
  return isDigit(byte) ? push(numberFrame(integer, 'int', 1), below) : null;
}

// ---------------------------------------------------------------------------------- literals

/** Matching one of a set of fixed byte strings; `alive` are the candidates still matching. */
class LiteralsFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd: boolean;
  constructor(
    readonly node: LiteralsNode,
    readonly alive: number[],
    readonly pos: number,
  ) {
    this.key = `l${node.id}:${pos}:${alive.join(',')}`;
    this.canEnd = alive.some((i) => node.values[i].length === pos);
    this.rest = this.canEnd ? 0 : Math.min(...alive.map((i) => node.values[i].length - pos));
  }
  feed(byte: number, self: Stack): Stack | null {
    const { values } = this.node;
    const alive = this.alive.filter((i) => values[i].length > this.pos && values[i][this.pos] === byte);
    if (alive.length) return push(new LiteralsFrame(this.node, alive, this.pos + 1), self.next);
    return this.canEnd ? feedBelow(self, byte) : null;
  }
}

function startLiterals(node: LiteralsNode, byte: number, below: Stack | null): Stack | null {
  const alive: number[] = [];
  node.values.forEach((v, i) => v[0] === byte && alive.push(i));
  return alive.length ? push(new LiteralsFrame(node, alive, 1), below) : null;
}

// ---------------------------------------------------------------------------------- objects

type ObjectPhase = 'open' | 'key' | 'colon' | 'afterColon' | 'afterColonSpace' | 'afterValue' | 'comma' | 'commaSpace';

/** An object of declared properties, each written at most once, in any order. */
class ObjectFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd = false;
  constructor(
    readonly node: ObjectNode,
    readonly phase: ObjectPhase,
    /** '1' for each property written. */
    readonly written: string,
    /** In 'key': candidates still matching; in 'colon'/'afterColon*': the one property. */
    readonly alive: number[],
    readonly pos: number,
  ) {
    this.key = `o${node.id}${phase}${written}:${alive.join(',')}:${pos}`;
    this.rest = this.computeRest();
  }

  static open(node: ObjectNode): ObjectFrame {
    return new ObjectFrame(node, 'open', '0'.repeat(node.props.length), [], 0);
  }

  private with(phase: ObjectPhase, alive: number[] = [], pos = 0, written = this.written): ObjectFrame {
    return new ObjectFrame(this.node, phase, written, alive, pos);
  }

  private unwritten(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.written.length; i++) if (this.written[i] === '0') out.push(i);
    return out;
  }

  private missingRequired(written: string): number[] {
    const out: number[] = [];
    this.node.props.forEach((p, i) => p.required && written[i] === '0' && out.push(i));
    return out;
  }

  private entryCost(i: number): number {
    const p = this.node.props[i];
    return p.key.length + 1 + p.node.minLen;
  }

  /** Shortest way to close after a value, once `written` are written. */
  private closeCost(written: string): number {
    return this.missingRequired(written).reduce((sum, i) => sum + 1 + this.entryCost(i), 0) + 1;
  }

  private mark(i: number): string {
    return this.written.slice(0, i) + '1' + this.written.slice(i + 1);
  }

  private computeRest(): number {
    switch (this.phase) {
      case 'open':
      case 'comma':
      case 'commaSpace': {
        const missing = this.missingRequired(this.written);
        if (missing.length) return missing.reduce((sum, i) => sum + this.entryCost(i), 0) + missing.length - 1 + 1;
        if (this.phase === 'open') return 1;
        return Math.min(...this.unwritten().map((i) => this.entryCost(i))) + 1;
      }
      case 'key':
        return Math.min(...this.alive.map((i) => this.node.props[i].key.length - this.pos + 1 + this.node.props[i].node.minLen + this.closeCost(this.mark(i))));
      case 'colon':
        return 1 + this.node.props[this.alive[0]].node.minLen + this.closeCost(this.mark(this.alive[0]));
      case 'afterColon':
      case 'afterColonSpace':
        return this.node.props[this.alive[0]].node.minLen + this.closeCost(this.mark(this.alive[0]));
      case 'afterValue':
        return this.closeCost(this.written);
    }
  }

  feed(byte: number, self: Stack): Stack | null {
    const below = self.next;
    switch (this.phase) {
      case 'open':
      case 'comma':
      case 'commaSpace':
        if (byte === QUOTE) {
          const alive = this.unwritten();
          return alive.length ? push(this.with('key', alive, 1), below) : null;
        }
        if (byte === CLOSE_BRACE && this.phase === 'open') return this.missingRequired(this.written).length ? null : pop(self);
        if (byte === SPACE && this.phase === 'comma') return push(this.with('commaSpace'), below);
        return null;
      case 'key': {
        const props = this.node.props;
        const alive = this.alive.filter((i) => props[i].key.length > this.pos && props[i].key[this.pos] === byte);
        if (!alive.length) return null;
        const done = alive.find((i) => props[i].key.length === this.pos + 1);
        return push(done !== undefined ? this.with('colon', [done]) : this.with('key', alive, this.pos + 1), below);
      }
      case 'colon':
        return byte === COLON ? push(this.with('afterColon', this.alive), below) : null;
      case 'afterColon':
      case 'afterColonSpace': {
        if (byte === SPACE && this.phase === 'afterColon') return push(this.with('afterColonSpace', this.alive), below);
        const i = this.alive[0];
        return startValue(this.node.props[i].node, byte, push(this.with('afterValue', [], 0, this.mark(i)), below));
      }
      case 'afterValue':
        if (byte === COMMA) return this.unwritten().length ? push(this.with('comma'), below) : null;
        if (byte === CLOSE_BRACE) return this.missingRequired(this.written).length ? null : pop(self);
        return null;
    }
  }
}

// ---------------------------------------------------------------------------------- arrays

type ArrayPhase = 'open' | 'afterItem' | 'comma' | 'commaSpace';

class ArrayFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd = false;
  constructor(
    readonly node: ArrayNode | AnyNode,
    readonly phase: ArrayPhase,
  ) {
    this.key = `a${node.id}${phase}`;
    this.rest = phase === 'comma' || phase === 'commaSpace' ? this.items().minLen + 1 : 1;
  }
  private items(): ValueNode {
    return this.node.kind === 'array' ? this.node.items : anyChild(this.node);
  }
  feed(byte: number, self: Stack): Stack | null {
    const below = self.next;
    switch (this.phase) {
      case 'open':
        if (byte === CLOSE_BRACKET) return pop(self);
        return startValue(this.items(), byte, push(new ArrayFrame(this.node, 'afterItem'), below));
      case 'afterItem':
        if (byte === COMMA) return push(new ArrayFrame(this.node, 'comma'), below);
        return byte === CLOSE_BRACKET ? pop(self) : null;
      case 'comma':
      case 'commaSpace':
        if (byte === SPACE && this.phase === 'comma') return push(new ArrayFrame(this.node, 'commaSpace'), below);
        return startValue(this.items(), byte, push(new ArrayFrame(this.node, 'afterItem'), below));
    }
  }
}

// ---------------------------------------------------------------------------------- any JSON

const TRUE_FALSE_NULL: LiteralsNode = { kind: 'literals', id: -1, minLen: 4, values: ['true', 'false', 'null'].map((t) => new TextEncoder().encode(t)) };
const ANY_BY_DEPTH: AnyNode[] = Array.from({ length: MAX_ANY_DEPTH + 1 }, (_, depth) => ({ kind: 'any', id: -100 - depth, minLen: 1, depth, objectOnly: false }));

/** The node of values nested one level deeper than `node`. */
function anyChild(node: AnyNode): AnyNode {
  return ANY_BY_DEPTH[Math.min(node.depth + 1, MAX_ANY_DEPTH)];
}

function startAny(node: AnyNode, byte: number, below: Stack | null): Stack | null {
  // At the nesting limit: scalars only, so that generic JSON cannot nest without bound.
  const nest = node.depth < MAX_ANY_DEPTH;
  if (byte === OPEN_BRACE) return nest ? push(new AnyObjectFrame(node, 'open'), below) : null;
  if (node.objectOnly) return null;
  if (byte === OPEN_BRACKET) return nest ? push(new ArrayFrame(node, 'open'), below) : null;
  if (byte === QUOTE) return push(STRING_NORMAL, below);
  return startNumber(false, byte, below) ?? startLiterals(TRUE_FALSE_NULL, byte, below);
}

type AnyObjectPhase = 'open' | 'colon' | 'afterColon' | 'afterColonSpace' | 'afterValue' | 'comma' | 'commaSpace';

/** An object with any keys (strings) and any values. */
class AnyObjectFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd = false;
  constructor(
    readonly node: AnyNode,
    readonly phase: AnyObjectPhase,
  ) {
    this.key = `g${node.id}${phase}`;
    // '"":0}' from a comma; ':0}' after a key; '0}' after the colon; '}' otherwise.
    this.rest = { open: 1, colon: 3, afterColon: 2, afterColonSpace: 2, afterValue: 1, comma: 5, commaSpace: 5 }[phase];
  }
  private to(phase: AnyObjectPhase): AnyObjectFrame {
    return new AnyObjectFrame(this.node, phase);
  }
  feed(byte: number, self: Stack): Stack | null {
    const below = self.next;
    switch (this.phase) {
      case 'open':
      case 'comma':
      case 'commaSpace':
        if (byte === QUOTE) return push(STRING_NORMAL, push(this.to('colon'), below));
        if (byte === CLOSE_BRACE && this.phase === 'open') return pop(self);
        if (byte === SPACE && this.phase === 'comma') return push(this.to('commaSpace'), below);
        return null;
      case 'colon':
        return byte === COLON ? push(this.to('afterColon'), below) : null;
      case 'afterColon':
      case 'afterColonSpace': {
        if (byte === SPACE && this.phase === 'afterColon') return push(this.to('afterColonSpace'), below);
        return startValue(anyChild(this.node), byte, push(this.to('afterValue'), below));
      }
      case 'afterValue':
        if (byte === COMMA) return push(this.to('comma'), below);
        return byte === CLOSE_BRACE ? pop(self) : null;
    }
  }
}

// ---------------------------------------------------------------------------------- tagged

/** Matching one of several fixed prefixes; the matched one's body and suffix follow. */
class TaggedFrame implements Frame {
  readonly key: string;
  readonly rest: number;
  readonly canEnd = false;
  constructor(
    readonly node: TaggedNode,
    readonly alive: number[],
    readonly pos: number,
  ) {
    this.key = `t${node.id}:${pos}:${alive.join(',')}`;
    this.rest = Math.min(...alive.map((i) => {
      const a = node.alternatives[i];
      return a.prefix.length - pos + a.body.minLen + a.suffix.minLen;
    }));
  }
  feed(byte: number, self: Stack): Stack | null {
    const alts = this.node.alternatives;
    const alive = this.alive.filter((i) => alts[i].prefix.length > this.pos && alts[i].prefix[this.pos] === byte);
    return alive.length ? settleTagged(this.node, alive, this.pos + 1, self.next) : null;
  }
}

function settleTagged(node: TaggedNode, alive: number[], pos: number, below: Stack | null): Stack {
  const done = alive.find((i) => node.alternatives[i].prefix.length === pos);
  if (done === undefined) return push(new TaggedFrame(node, alive, pos), below);
  const alt = node.alternatives[done];
  return push(new ValueFrame(alt.body), push(new ValueFrame(alt.suffix), below));
}

/** True when the state is inside a string, after no escape or partial character. */
export function inPlainString(state: Stack): boolean {
  return state !== DONE && state.frame === STRING_NORMAL;
}

/** A lone string's state after its opening quote (dist 1). */
export function plainStringState(): Stack {
  return push(STRING_NORMAL, null);
}
