import { describe, expect, it } from 'vitest';
import { parseToolCalls, CODE_INTERPRETER_TOOL } from './parse-tool-calls.js';
import { assignToolCallIds } from './tool-call-ids.js';
import { toolCallText } from './render-chat.js';

const calls = (output: string) => {
  const result = parseToolCalls(output);
  if (result.kind !== 'tool-calls') throw new Error(`expected tool calls, got ${JSON.stringify(result)}`);
  return result.calls;
};

describe('parseToolCalls: text', () => {
  it('keeps ordinary replies as text, unchanged', () => {
    expect(parseToolCalls('The weather is fine.')).toEqual({ kind: 'text', text: 'The weather is fine.' });
    expect(parseToolCalls('  Sure: {"name": "x"}')).toEqual({ kind: 'text', text: '  Sure: {"name": "x"}' });
    expect(parseToolCalls('')).toEqual({ kind: 'text', text: '' });
  });

  it('treats JSON that is not a call as text (the user may have asked for JSON)', () => {
    expect(parseToolCalls('{"total": 12.5, "items": 3}').kind).toBe('text');
    expect(parseToolCalls('[1, 2, 3]').kind).toBe('text');
    expect(parseToolCalls('{curly braces are fun}').kind).toBe('text');
  });
});

describe('parseToolCalls: JSON calls', () => {
  it('reads the Llama 3.1/3.2 {"name", "parameters"} form', () => {
    expect(calls('{"name": "get_weather", "parameters": {"city": "Paris"}}')).toEqual([{ name: 'get_weather', arguments: { city: 'Paris' } }]);
  });

  it('accepts "arguments", stringified arguments, missing arguments and OpenAI-style nesting', () => {
    expect(calls('{"name": "f", "arguments": {"a": 1}}')).toEqual([{ name: 'f', arguments: { a: 1 } }]);
    expect(calls('{"name": "f", "parameters": "{\\"a\\": [1, 2]}"}')).toEqual([{ name: 'f', arguments: { a: [1, 2] } }]);
    expect(calls('{"name": "now"}')).toEqual([{ name: 'now', arguments: {} }]);
    expect(calls('{"type": "function", "function": {"name": "f", "arguments": "{}"}}')).toEqual([{ name: 'f', arguments: {} }]);
  });

  it('reads several calls: a JSON list, one per line, or separated by ";"', () => {
    const expected = [
      { name: 'a', arguments: { x: 1 } },
      { name: 'b', arguments: {} },
    ];
    expect(calls('[{"name": "a", "parameters": {"x": 1}}, {"name": "b", "parameters": {}}]')).toEqual(expected);
    expect(calls('{"name": "a", "parameters": {"x": 1}}\n{"name": "b", "parameters": {}}')).toEqual(expected);
    expect(calls('{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {}}')).toEqual(expected);
  });

  it('reads back what renderChat writes for assistant tool calls', () => {
    const written = [toolCallText({ name: 'a', arguments: { s: 'semi;colon}' } }), toolCallText({ name: 'b', arguments: {} })].join('; ');
    expect(calls(written)).toEqual([
      { name: 'a', arguments: { s: 'semi;colon}' } },
      { name: 'b', arguments: {} },
    ]);
  });

  it('tolerates surrounding whitespace and a trailing end marker', () => {
    expect(calls('\n {"name": "f", "parameters": {"q": "x"}} \n<|eom_id|>')).toEqual([{ name: 'f', arguments: { q: 'x' } }]);
  });
});

describe('parseToolCalls: <|python_tag|> and Python-style calls', () => {
  it('reads JSON after <|python_tag|>', () => {
    const result = parseToolCalls('<|python_tag|>{"name": "search", "parameters": {"query": "llamas"}}');
    expect(result).toEqual({ kind: 'tool-calls', format: 'python-tag', calls: [{ name: 'search', arguments: { query: 'llamas' } }] });
  });

  it('reads built-in tool calls `tool.call(...)`', () => {
    expect(calls('<|python_tag|>brave_search.call(query="weather in SF, \\"today\\"")')).toEqual([
      { name: 'brave_search', arguments: { query: 'weather in SF, "today"' } },
    ]);
    expect(calls("<|python_tag|>wolfram_alpha.call(query='integrate x^2')<|eom_id|>")).toEqual([
      { name: 'wolfram_alpha', arguments: { query: 'integrate x^2' } },
    ]);
  });

  it('turns plain code after the tag into a code interpreter call', () => {
    expect(calls('<|python_tag|>import math\nprint(math.pi)')).toEqual([
      { name: CODE_INTERPRETER_TOOL, arguments: { code: 'import math\nprint(math.pi)' } },
    ]);
  });

  it('reads the pythonic list form with Python literals', () => {
    const result = parseToolCalls('[get_weather(city="Paris", days=3, metric=True), get_time(tz=\'CET\', extra={"a": [1, None]})]');
    expect(result).toEqual({
      kind: 'tool-calls',
      format: 'pythonic',
      calls: [
        { name: 'get_weather', arguments: { city: 'Paris', days: 3, metric: true } },
        { name: 'get_time', arguments: { tz: 'CET', extra: { a: [1, null] } } },
      ],
    });
  });
});

describe('parseToolCalls: malformed output says what is wrong', () => {
  const malformed = (output: string) => {
    const result = parseToolCalls(output);
    if (result.kind !== 'malformed') throw new Error(`expected malformed, got ${JSON.stringify(result)}`);
    expect(result.raw).toBe(output);
    return result.message;
  };

  it('cut-off JSON', () => {
    expect(malformed('{"name": "get_weather", "parameters": {"city": "Par')).toMatch(/ended inside a JSON value/);
  });

  it('invalid JSON', () => {
    expect(malformed('{"name": "f", "parameters": {city: "Paris"}}')).toMatch(/invalid JSON/);
  });

  it('bad name or arguments', () => {
    expect(malformed('{"name": 42, "parameters": {}}')).toMatch(/"name" must be a non-empty string/);
    expect(malformed('{"name": "f", "parameters": [1, 2]}')).toMatch(/must be a JSON object/);
    expect(malformed('{"name": "f", "parameters": "not json"}')).toMatch(/string that is not JSON/);
  });

  it('a mix of calls and other JSON, or text after the call', () => {
    expect(malformed('[{"name": "f", "parameters": {}}, {"x": 1}]')).toMatch(/1 of 2 JSON values are not tool calls/);
    expect(malformed('{"name": "f", "parameters": {}} I called the tool.')).toMatch(/unexpected text after the tool call/);
  });

  it('python_tag with nothing usable', () => {
    expect(malformed('<|python_tag|>')).toMatch(/nothing follows/);
    expect(malformed('<|python_tag|>{"query": "x"}')).toMatch(/no \{"name"/);
    expect(malformed('<|python_tag|>brave_search.call(query=)')).toMatch(/invalid call syntax/);
    expect(malformed('[get_weather(city="Paris"')).toMatch(/invalid call syntax/);
  });
});

describe('assignToolCallIds', () => {
  it('gives every call a distinct id', () => {
    const parsed = calls('{"name": "a"}\n{"name": "b"}');
    const withIds = assignToolCallIds(parsed);
    expect(withIds.map((c) => c.name)).toEqual(['a', 'b']);
    expect(new Set(withIds.map((c) => c.id)).size).toBe(2);
    expect(withIds[0]!.id).toMatch(/^call_[0-9a-f]{24}$/);
    let n = 0;
    expect(assignToolCallIds(parsed, () => `id${n++}`).map((c) => c.id)).toEqual(['id0', 'id1']);
  });
});
