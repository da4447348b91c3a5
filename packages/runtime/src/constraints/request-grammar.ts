/**
 * From a request's response format and tool choice to a compiled grammar: json_schema (the
 * supported subset), json_object (any JSON object), or a forced tool call written the way the
 * chat format writes and parses calls: {"name": "<tool>", "parameters": <arguments>}. Compiled
 * grammars (and their mask caches) are kept per tokenizer, keyed by the constraint's JSON.
 */
import type { ResponseFormat, ToolChoice, ToolSpec } from '../model/types.js';
import { ConstraintError } from './errors.js';
import { compileJsonSchema } from './json-schema.js';
import { NodeFactory, type ValueNode } from './nodes.js';
import { CompiledGrammar } from './token-constraint.js';
import { vocabularyTrie, type VocabularySource, type VocabularyTrie } from './vocabulary.js';

export interface ConstraintSpec {
  responseFormat?: ResponseFormat;
  toolChoice?: ToolChoice;
  tools?: ToolSpec[];
}

/** The tools a request offers the model after its tool choice ('none' offers none). */
export function offeredTools(spec: ConstraintSpec): ToolSpec[] {
  return spec.toolChoice === 'none' ? [] : (spec.tools ?? []);
}

/** Whether the spec constrains decoding at all. */
export function isConstrained(spec: ConstraintSpec): boolean {
  const forced = spec.toolChoice === 'required' || typeof spec.toolChoice === 'object';
  const format = spec.responseFormat?.type;
  return forced || format === 'json_object' || format === 'json_schema';
}

/**
 * The grammar's root node, or undefined when the spec leaves decoding free. Throws
 * ConstraintError (UnsupportedSchemaError for schemas outside the subset) for bad input.
 */
export function grammarNode(spec: ConstraintSpec, factory = new NodeFactory()): ValueNode | undefined {
  const { toolChoice, responseFormat } = spec;
  const tools = spec.tools ?? [];
  if (toolChoice !== undefined && toolChoice !== 'auto' && toolChoice !== 'none' && toolChoice !== 'required') {
    if (typeof toolChoice !== 'object' || toolChoice === null || typeof toolChoice.name !== 'string')
      throw new ConstraintError('CONSTRAINT_INVALID', `toolChoice must be "auto", "none", "required" or {name}; got ${JSON.stringify(toolChoice)}.`);
    const tool = tools.find((t) => t.name === toolChoice.name);
    if (!tool)
      throw new ConstraintError('CONSTRAINT_INVALID', `toolChoice names "${toolChoice.name}", which is not among the request's tools (${tools.map((t) => t.name).join(', ') || 'none'}).`);
    return toolCallNode([tool], factory);
  }
  if (toolChoice === 'required') {
    if (tools.length === 0) throw new ConstraintError('CONSTRAINT_INVALID', 'toolChoice "required" needs at least one tool in the request.');
    return toolCallNode(tools, factory);
  }
  if (responseFormat === undefined || responseFormat.type === 'text') return undefined;
  if (responseFormat.type === 'json_object') return factory.any(0, true);
  if (responseFormat.type === 'json_schema') {
    if (responseFormat.schema === undefined) throw new ConstraintError('CONSTRAINT_INVALID', 'responseFormat json_schema needs a schema.');
    return compileJsonSchema(responseFormat.schema, factory);
  }
  throw new ConstraintError('CONSTRAINT_INVALID', `responseFormat.type must be "text", "json_object" or "json_schema"; got ${JSON.stringify((responseFormat as { type: unknown }).type)}.`);
}

function toolCallNode(tools: ToolSpec[], factory: NodeFactory): ValueNode {
  return factory.tagged(
    tools.map((tool, i) => {
      const body = compileToolParameters(tool, i, factory);
      return { prefix: `{"name": ${JSON.stringify(tool.name)}, "parameters": `, body, suffix: '}' };
    }),
  );
}

function compileToolParameters(tool: ToolSpec, index: number, factory: NodeFactory): ValueNode {
  try {
    return compileJsonSchema(tool.parameters ?? { type: 'object', properties: {} }, factory);
  } catch (error) {
    if (error instanceof ConstraintError) {
      const wrapped = Object.assign(Object.create(Object.getPrototypeOf(error)), error) as ConstraintError;
      wrapped.message = `tools[${index}] (${tool.name}) parameters: ${error.message}`;
      throw wrapped;
    }
    throw error;
  }
}

const CACHES = new WeakMap<VocabularyTrie, Map<string, CompiledGrammar>>();
const MAX_GRAMMARS = 64;

/**
 * The compiled grammar for a spec and tokenizer (cached), or undefined when decoding is free.
 * Checks the spec first, so bad input fails the same way with or without a tokenizer.
 */
export function compileConstraint(spec: ConstraintSpec, vocabulary: VocabularySource): CompiledGrammar | undefined {
  if (!isConstrained(spec)) {
    grammarNode(spec); // still checks the tool choice
    return undefined;
  }
  const key = JSON.stringify([spec.responseFormat ?? null, spec.toolChoice ?? null, spec.toolChoice === 'required' || typeof spec.toolChoice === 'object' ? (spec.tools ?? []).map((t) => [t.name, t.parameters]) : null]);
  const trie = vocabularyTrie(vocabulary);
  let cache = CACHES.get(trie);
  if (!cache) CACHES.set(trie, (cache = new Map()));
  let grammar = cache.get(key);
  if (grammar) {
    cache.delete(key);
    cache.set(key, grammar);
    return grammar;
  }
  const root = grammarNode(spec);
  if (!root) return undefined;
  grammar = new CompiledGrammar(root, trie);
  cache.set(key, grammar);
  if (cache.size > MAX_GRAMMARS) cache.delete(cache.keys().next().value!);
  return grammar;
}
