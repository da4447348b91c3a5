import { describe, expect, it } from 'vitest';
import { ToolCallStreamParser } from './tool-call-stream-parser.js';

function feed(parser: ToolCallStreamParser, deltas: string[]): string[] {
  return deltas.map((d) => parser.push(d));
}

describe('ToolCallStreamParser', () => {
  it('releases text as soon as the first visible character rules out a call', () => {
    const parser = new ToolCallStreamParser();
    expect(feed(parser, ['', '  ', 'Hel', 'lo', ' world'])).toEqual(['', '', '  Hel', 'lo', ' world']);
    expect(parser.mode).toBe('text');
    expect(parser.end()).toEqual({ release: '', result: { kind: 'text', text: '  Hello world' } });
  });

  it('holds back a JSON call and parses it at the end', () => {
    const parser = new ToolCallStreamParser();
    expect(feed(parser, ['\n', '{"name": "get_', 'weather", "parameters": ', '{"city": "Oslo"}}'])).toEqual(['', '', '', '']);
    expect(parser.mode).toBe('tool-call');
    const end = parser.end();
    expect(end.release).toBe('');
    expect(end.result).toEqual({ kind: 'tool-calls', format: 'json', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
  });

  it('waits while the output could still become <|python_tag|>', () => {
    const parser = new ToolCallStreamParser();
    expect(feed(parser, ['<', '|py', 'thon_tag|>', 'brave_search.call(query="x")'])).toEqual(['', '', '', '']);
    expect(parser.end().result).toMatchObject({ kind: 'tool-calls', calls: [{ name: 'brave_search', arguments: { query: 'x' } }] });

    const other = new ToolCallStreamParser();
    expect(feed(other, ['<', '|pz', 'x'])).toEqual(['', '<|pz', 'x']);
    expect(other.mode).toBe('text');
  });

  it('releases held output that turns out to be plain JSON text', () => {
    const parser = new ToolCallStreamParser();
    expect(feed(parser, ['{"total"', ': 3}'])).toEqual(['', '']);
    expect(parser.end()).toEqual({ release: '{"total": 3}', result: { kind: 'text', text: '{"total": 3}' } });
  });

  it('reports a cut-off call as malformed without releasing it', () => {
    const parser = new ToolCallStreamParser();
    feed(parser, ['[{"name": "a", "parameters": {"x"']);
    const end = parser.end();
    expect(end.release).toBe('');
    expect(end.result.kind).toBe('malformed');
  });
});
