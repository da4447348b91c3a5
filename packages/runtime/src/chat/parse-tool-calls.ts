/**
 * Reads a finished model reply as either plain text or tool calls, in the forms Llama 3.1/3.2
 * write them: {"name": ..., "parameters": ...} JSON (or "arguments"), several calls as a JSON
 * list, one per line or separated by ';', the <|python_tag|> form, and Python-style calls.
 * Anything that starts like a tool call but cannot be read comes back as `malformed` with the
 * reason, never as a guessed call.
 */
import { scanJsonValues } from './json-value-scanner.js';
import { PYTHON_TAG } from './llama-prompt-text.js';
import { looksLikePythonCall, parsePythonCalls } from './python-call-parser.js';

export interface ParsedToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export type ToolCallFormat = 'json' | 'python-tag' | 'pythonic';

export type ToolCallParseResult =
  | { kind: 'text'; text: string }
  | { kind: 'tool-calls'; calls: ParsedToolCall[]; format: ToolCallFormat }
  | { kind: 'malformed'; raw: string; message: string };

/** Name given to raw code after <|python_tag|> (Llama's built-in code interpreter). */
export const CODE_INTERPRETER_TOOL = 'code_interpreter';

const END_MARKERS = /(?:<\|eom_id\|>|<\|eot_id\|>|<\|end_of_text\|>)\s*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type CallRead = { call: ParsedToolCall } | { error: string } | { notACall: true };

/** One JSON object as a call: {"name", "parameters"|"arguments"} or {"function": {...}}. */
function readCallObject(value: unknown): CallRead {
  if (!isRecord(value)) return { notACall: true };
  const source = isRecord(value.function) && typeof value.function.name === 'string' ? value.function : value;
  if (!('name' in source)) return { notACall: true };
  if (typeof source.name !== 'string' || source.name.trim() === '') return { error: '"name" must be a non-empty string' };
  let args: unknown = 'parameters' in source ? source.parameters : 'arguments' in source ? source.arguments : {};
  if (typeof args === 'string') {
    // Some models write the arguments as a JSON string.
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch {
      return { error: `the arguments of "${source.name}" are a string that is not JSON` };
    }
  }
  if (args === null || args === undefined) args = {};
  if (!isRecord(args)) return { error: `the arguments of "${source.name}" must be a JSON object` };
  return { call: { name: source.name, arguments: args } };
}

function malformed(raw: string, message: string): ToolCallParseResult {
  return { kind: 'malformed', raw, message };
}

/**
 * JSON form. `mustBeCall` is set after <|python_tag|>: then output that is not a call is
 * malformed instead of text.
 */
function parseJsonCalls(raw: string, body: string, format: ToolCallFormat, mustBeCall: boolean): ToolCallParseResult {
  const mentionsName = /"name"\s*:/.test(body);
  const notCall = (message: string) => (mustBeCall || mentionsName ? malformed(raw, message) : { kind: 'text' as const, text: raw });
  const scan = scanJsonValues(body);
  if (scan.incomplete) return notCall('the output ended inside a JSON value (cut off?)');

  const items: unknown[] = [];
  for (const source of scan.values) {
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      return notCall(`invalid JSON: ${(error as Error).message}`);
    }
    if (Array.isArray(value)) for (const item of value) items.push(item);
    else items.push(value);
  }

  const calls: ParsedToolCall[] = [];
  let others = 0;
  for (const [index, item] of items.entries()) {
    const read = readCallObject(item);
    if ('call' in read) calls.push(read.call);
    else if ('error' in read) return malformed(raw, `tool call ${index + 1}: ${read.error}`);
    else others++;
  }
  if (calls.length === 0) return notCall('the JSON holds no {"name": ..., "parameters": ...} object');
  if (others > 0) return malformed(raw, `${others} of ${items.length} JSON values are not tool calls ({"name": ..., "parameters": ...})`);
  if (scan.trailing.trim() !== '') {
    return malformed(raw, `unexpected text after the tool call: ${JSON.stringify(scan.trailing.trim().slice(0, 80))}`);
  }
  return { kind: 'tool-calls', calls, format };
}

function parsePythonic(raw: string, body: string, format: ToolCallFormat): ToolCallParseResult {
  try {
    return { kind: 'tool-calls', calls: parsePythonCalls(body), format };
  } catch (error) {
    return malformed(raw, `invalid call syntax: ${(error as Error).message}`);
  }
}

export function parseToolCalls(output: string): ToolCallParseResult {
  const body = output.replace(END_MARKERS, '').trim();

  if (body.startsWith(PYTHON_TAG)) {
    const rest = body.slice(PYTHON_TAG.length).trim();
    if (rest === '') return malformed(output, 'nothing follows <|python_tag|>');
    if (rest.startsWith('{')) return parseJsonCalls(output, rest, 'python-tag', true);
    if (rest.startsWith('[') && !looksLikePythonCall(rest)) return parseJsonCalls(output, rest, 'python-tag', true);
    if (looksLikePythonCall(rest)) return parsePythonic(output, rest, 'python-tag');
    // Plain code after the tag is a request to run it (Llama's built-in code interpreter).
    return { kind: 'tool-calls', calls: [{ name: CODE_INTERPRETER_TOOL, arguments: { code: rest } }], format: 'python-tag' };
  }
  if (body.startsWith('{')) return parseJsonCalls(output, body, 'json', false);
  if (body.startsWith('[')) {
    if (looksLikePythonCall(body)) return parsePythonic(output, body, 'pythonic');
    return parseJsonCalls(output, body, 'json', false);
  }
  return { kind: 'text', text: output };
}
