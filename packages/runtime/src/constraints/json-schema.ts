/**
 * JSON Schema → value nodes, for a documented strict subset (docs/structured-output.md). Whatever
 * falls outside it fails with UnsupportedSchemaError naming the keyword and where it is, rather
 * than being silently ignored: a constraint that does not enforce the schema would let invalid
 * output through.
 */
import { ConstraintError, UnsupportedSchemaError } from './errors.js';
import { bytesOf, firstBytes, NodeFactory, type ObjectProperty, type ValueNode } from './nodes.js';

/** Keywords that describe a schema without constraining values: accepted and ignored. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', 'strict']);

const KEYWORDS_BY_TYPE: Record<string, Set<string>> = {
  object: new Set(['type', 'properties', 'required', 'additionalProperties']),
  array: new Set(['type', 'items']),
  string: new Set(['type']),
  number: new Set(['type']),
  integer: new Set(['type']),
  boolean: new Set(['type']),
  null: new Set(['type']),
};

const TYPES = Object.keys(KEYWORDS_BY_TYPE);

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Compiles a JSON Schema into a value node. */
export function compileJsonSchema(schema: unknown, factory = new NodeFactory()): ValueNode {
  return compile(schema, '#', factory, 0);
}

const MAX_SCHEMA_DEPTH = 32;

function compile(schema: unknown, path: string, f: NodeFactory, depth: number): ValueNode {
  if (depth > MAX_SCHEMA_DEPTH) throw new UnsupportedSchemaError('properties', path, `nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
  if (schema === true) return f.any(0);
  if (schema === false) throw new UnsupportedSchemaError('false', path, 'admits no value at all');
  if (!isRecord(schema)) throw new ConstraintError('CONSTRAINT_INVALID', `The JSON Schema at ${path} must be an object (or true), got ${JSON.stringify(schema)}.`);

  if ('const' in schema) {
    checkOnly(schema, path, new Set(['const', 'type']));
    return f.literals([canonical(schema.const, `${path}/const`)]);
  }
  if ('enum' in schema) {
    checkOnly(schema, path, new Set(['enum', 'type']));
    if (!Array.isArray(schema.enum) || schema.enum.length === 0)
      throw new ConstraintError('CONSTRAINT_INVALID', `"enum" at ${path} must be a non-empty array of values.`);
    const types = schema.type === undefined ? undefined : typeList(schema.type, path);
    const values = schema.enum.filter((v) => types === undefined || types.some((t) => matchesType(v, t)));
    if (values.length === 0) throw new ConstraintError('CONSTRAINT_INVALID', `No value of "enum" at ${path} has the schema's "type".`);
    return f.literals(values.map((v, i) => canonical(v, `${path}/enum/${i}`)));
  }
  if ('anyOf' in schema || 'oneOf' in schema) {
    const keyword = 'anyOf' in schema ? 'anyOf' : 'oneOf';
    checkOnly(schema, path, new Set([keyword]));
    const branches = schema[keyword];
    if (!Array.isArray(branches) || branches.length === 0) throw new ConstraintError('CONSTRAINT_INVALID', `"${keyword}" at ${path} must be a non-empty array of schemas.`);
    return union(branches.map((b, i) => compile(b, `${path}/${keyword}/${i}`, f, depth + 1)), keyword, path, f);
  }

  let types: string[];
  if (schema.type === undefined) {
    if ('properties' in schema) types = ['object'];
    else if ('items' in schema) types = ['array'];
    else {
      checkOnly(schema, path, new Set());
      return f.any(0);
    }
  } else types = typeList(schema.type, path);
  // number admits every integer: a list with both is just number.
  if (types.includes('number')) types = types.filter((t) => t !== 'integer');

  const allowed = new Set(types.flatMap((t) => [...KEYWORDS_BY_TYPE[t]]));
  if (types.includes('integer')) for (const keyword of impliedIntegerBounds(schema)) allowed.add(keyword);
  checkOnly(schema, path, allowed);
  const nodes = types.map((type) => compileType(type, schema, path, f, depth));
  return nodes.length === 1 ? nodes[0] : union(nodes, 'type', path, f);
}

/** The integer with the most digits the automaton writes (15): every integer it writes is a safe one. */
const LARGEST_WRITTEN_INTEGER = 10 ** 15 - 1;

/**
 * `minimum` / `maximum` on an integer that admit every integer the automaton can write, so
 * enforcing them takes nothing: zod's `z.number().int()` states the safe-integer range this way.
 */
function impliedIntegerBounds(schema: Json): string[] {
  const implied: string[] = [];
  if (typeof schema.minimum === 'number' && schema.minimum <= -LARGEST_WRITTEN_INTEGER) implied.push('minimum');
  if (typeof schema.maximum === 'number' && schema.maximum >= LARGEST_WRITTEN_INTEGER) implied.push('maximum');
  return implied;
}

function compileType(type: string, schema: Json, path: string, f: NodeFactory, depth: number): ValueNode {
  switch (type) {
    case 'object':
      return compileObject(schema, path, f, depth);
    case 'array':
      return f.array(schema.items === undefined ? f.any(1) : compile(schema.items, `${path}/items`, f, depth + 1));
    case 'string':
      return f.string();
    case 'number':
    case 'integer':
      return f.number(type === 'integer');
    case 'boolean':
      return f.literals(['true', 'false']);
    default:
      return f.literals(['null']);
  }
}

function compileObject(schema: Json, path: string, f: NodeFactory, depth: number): ValueNode {
  const { properties, required, additionalProperties } = schema;
  if (additionalProperties !== undefined && typeof additionalProperties !== 'boolean')
    throw new UnsupportedSchemaError('additionalProperties', path, 'as a schema');
  if (properties !== undefined && !isRecord(properties)) throw new ConstraintError('CONSTRAINT_INVALID', `"properties" at ${path} must be an object.`);
  if (required !== undefined && (!Array.isArray(required) || required.some((r) => typeof r !== 'string')))
    throw new ConstraintError('CONSTRAINT_INVALID', `"required" at ${path} must be an array of property names.`);
  const names = Object.keys(properties ?? {});
  // An object that declares no properties and admits others: any JSON object.
  if (properties === undefined && additionalProperties !== false) return f.any(depth === 0 ? 0 : 1, true);
  const requiredSet = new Set((required as string[] | undefined) ?? []);
  for (const name of requiredSet)
    if (!names.includes(name)) throw new ConstraintError('CONSTRAINT_INVALID', `"required" at ${path} names "${name}", which is not in "properties" (no other property can be written).`);
  const props: ObjectProperty[] = names.map((name) => ({
    name,
    key: bytesOf(JSON.stringify(name)),
    node: compile((properties as Json)[name], `${path}/properties/${pointerEscape(name)}`, f, depth + 1),
    required: requiredSet.has(name),
  }));
  return f.object(props);
}

function union(nodes: ValueNode[], keyword: string, path: string, f: NodeFactory): ValueNode {
  const seen = new Set<number>();
  for (const node of nodes) {
    for (const b of firstBytes(node)) {
      if (seen.has(b))
        throw new UnsupportedSchemaError(keyword, path, `with branches that can start with the same character (${JSON.stringify(String.fromCharCode(b))}); branches must differ in kind (object, array, string, number, boolean, null)`);
      seen.add(b);
    }
  }
  return nodes.length === 1 ? nodes[0] : f.union(nodes);
}

function typeList(type: unknown, path: string): string[] {
  const list = Array.isArray(type) ? type : [type];
  if (list.length === 0) throw new ConstraintError('CONSTRAINT_INVALID', `"type" at ${path} must not be an empty list.`);
  for (const t of list) if (typeof t !== 'string' || !TYPES.includes(t)) throw new ConstraintError('CONSTRAINT_INVALID', `"type" at ${path} has ${JSON.stringify(t)}; accepted: ${TYPES.join(', ')}.`);
  return [...new Set(list as string[])];
}

function checkOnly(schema: Json, path: string, allowed: Set<string>): void {
  for (const keyword of Object.keys(schema)) {
    if (allowed.has(keyword) || ANNOTATIONS.has(keyword)) continue;
    throw new UnsupportedSchemaError(keyword, path, 'is not enforced at decode time');
  }
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
    default:
      return typeof value === type;
  }
}

function canonical(value: unknown, path: string): string {
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value)))
    throw new ConstraintError('CONSTRAINT_INVALID', `The value at ${path} is not JSON.`);
  return JSON.stringify(value);
}

function pointerEscape(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}
