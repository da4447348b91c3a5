/**
 * The grammar the automaton walks: a small tree of value nodes compiled from a JSON Schema (or
 * built directly for "any JSON object" and forced tool calls). Every node knows the length in
 * bytes of its shortest serialization (`minLen`) and the bytes a value of it may start with.
 */
export type ValueNode = ObjectNode | ArrayNode | StringNode | NumberNode | LiteralsNode | AnyNode | UnionNode | TaggedNode;

interface Base {
  /** Unique within one compiled constraint (part of the automaton's cache keys). */
  id: number;
  minLen: number;
}

export interface ObjectProperty {
  name: string;
  /** JSON.stringify(name) as UTF-8, quotes included. */
  key: Uint8Array;
  node: ValueNode;
  required: boolean;
}

export interface ObjectNode extends Base {
  kind: 'object';
  props: ObjectProperty[];
}

export interface ArrayNode extends Base {
  kind: 'array';
  items: ValueNode;
}

export interface StringNode extends Base {
  kind: 'string';
}

export interface NumberNode extends Base {
  kind: 'number';
  integer: boolean;
}

/** A fixed set of serialized values (enum, const, booleans, null, fixed text). */
export interface LiteralsNode extends Base {
  kind: 'literals';
  values: Uint8Array[];
}

/** Any JSON value (or, with `objectOnly`, any object), nesting up to MAX_ANY_DEPTH. */
export interface AnyNode extends Base {
  kind: 'any';
  depth: number;
  objectOnly: boolean;
}

/** One of several nodes, told apart by their first byte. */
export interface UnionNode extends Base {
  kind: 'union';
  options: ValueNode[];
}

/** Fixed text chosen among alternatives, then a value, then fixed text (a forced tool call). */
export interface TaggedNode extends Base {
  kind: 'tagged';
  alternatives: { prefix: Uint8Array; body: ValueNode; suffix: LiteralsNode }[];
}

/** Nesting allowed inside generic JSON (json_object): deeper values are scalars only. */
export const MAX_ANY_DEPTH = 6;

const utf8 = new TextEncoder();
export const bytesOf = (text: string): Uint8Array => utf8.encode(text);

/** Hands out node ids; one per compiled constraint. */
export class NodeFactory {
  private next = 0;
  private readonly anyNodes = new Map<string, AnyNode>();

  id(): number {
    return this.next++;
  }

  object(props: ObjectProperty[]): ObjectNode {
    const required = props.filter((p) => p.required);
    const minLen = 2 + required.reduce((sum, p) => sum + p.key.length + 1 + p.node.minLen, 0) + Math.max(0, required.length - 1);
    return { kind: 'object', id: this.id(), minLen, props };
  }

  array(items: ValueNode): ArrayNode {
    return { kind: 'array', id: this.id(), minLen: 2, items };
  }

  string(): StringNode {
    return { kind: 'string', id: this.id(), minLen: 2 };
  }

  number(integer: boolean): NumberNode {
    return { kind: 'number', id: this.id(), minLen: 1, integer };
  }

  literals(texts: string[]): LiteralsNode {
    const values = [...new Set(texts)].map(bytesOf);
    return { kind: 'literals', id: this.id(), minLen: Math.min(...values.map((v) => v.length)), values };
  }

  any(depth: number, objectOnly = false): AnyNode {
    const key = `${depth}:${objectOnly}`;
    let node = this.anyNodes.get(key);
    if (!node) {
      node = { kind: 'any', id: this.id(), minLen: objectOnly ? 2 : 1, depth, objectOnly };
      this.anyNodes.set(key, node);
    }
    return node;
  }

  union(options: ValueNode[]): UnionNode {
    return { kind: 'union', id: this.id(), minLen: Math.min(...options.map((o) => o.minLen)), options };
  }

  tagged(alternatives: { prefix: string; body: ValueNode; suffix: string }[]): TaggedNode {
    const alts = alternatives.map((a) => ({ prefix: bytesOf(a.prefix), body: a.body, suffix: this.literals([a.suffix]) }));
    const minLen = Math.min(...alts.map((a) => a.prefix.length + a.body.minLen + a.suffix.minLen));
    return { kind: 'tagged', id: this.id(), minLen, alternatives: alts };
  }
}

const NUMBER_START = '-0123456789';

/** The bytes a value of this node can start with. */
export function firstBytes(node: ValueNode): Set<number> {
  const out = new Set<number>();
  const add = (chars: string) => {
    for (let i = 0; i < chars.length; i++) out.add(chars.charCodeAt(i));
  };
  switch (node.kind) {
    case 'object':
      add('{');
      break;
    case 'array':
      add('[');
      break;
    case 'string':
      add('"');
      break;
    case 'number':
      add(NUMBER_START);
      break;
    case 'literals':
      for (const v of node.values) out.add(v[0]);
      break;
    case 'any':
      add(node.objectOnly ? '{' : `{["tfn${NUMBER_START}`);
      break;
    case 'union':
      for (const o of node.options) for (const b of firstBytes(o)) out.add(b);
      break;
    case 'tagged':
      for (const a of node.alternatives) out.add(a.prefix[0]);
      break;
  }
  return out;
}

/**
 * The most a single byte can add to the shortest completion (an optional property begun, an
 * array item begun): the automaton starts steering to completion this far before the limit.
 */
export function maxGrowth(node: ValueNode, seen = new Set<ValueNode>()): number {
  if (seen.has(node)) return 0;
  seen.add(node);
  switch (node.kind) {
    case 'object':
      return Math.max(0, ...node.props.map((p) => Math.max(p.required ? 0 : 2 + p.key.length + p.node.minLen, maxGrowth(p.node, seen))));
    case 'array':
      return Math.max(1 + node.items.minLen, maxGrowth(node.items, seen));
    case 'any':
      return 6;
    case 'union':
      return Math.max(...node.options.map((o) => maxGrowth(o, seen)), ...node.options.map((o) => o.minLen));
    case 'tagged':
      return Math.max(...node.alternatives.map((a) => a.prefix.length + a.body.minLen + a.suffix.minLen + maxGrowth(a.body, seen)));
    default:
      return 2;
  }
}
