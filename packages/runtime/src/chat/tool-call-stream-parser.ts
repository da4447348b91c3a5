/**
 * Streaming side of parseToolCalls: decides from the first characters whether a reply is a tool
 * call ('{', '[' or <|python_tag|> after optional whitespace) or text, so text can be released
 * as it arrives while a tool call is held back until the reply ends.
 */
import { PYTHON_TAG } from './llama-prompt-text.js';
import { parseToolCalls, type ToolCallParseResult } from './parse-tool-calls.js';

export type StreamMode = 'undecided' | 'text' | 'tool-call';

export interface ToolCallStreamEnd {
  /** Held-back text to release now (a reply that looked like a call but was text). */
  release: string;
  result: ToolCallParseResult;
}

export class ToolCallStreamParser {
  private output = '';
  private released = 0;
  private current: StreamMode = 'undecided';

  get mode(): StreamMode {
    return this.current;
  }

  /** Everything pushed so far. */
  get text(): string {
    return this.output;
  }

  /** Adds a text delta; returns the part of the output that may be shown now (possibly ""). */
  push(delta: string): string {
    this.output += delta;
    if (this.current === 'undecided') this.current = decide(this.output);
    if (this.current !== 'text') return '';
    const out = this.output.slice(this.released);
    this.released = this.output.length;
    return out;
  }

  /** Ends the stream: the parse of the whole reply and any held text that is now released. */
  end(): ToolCallStreamEnd {
    const result = parseToolCalls(this.output);
    let release = '';
    if (result.kind === 'text') {
      release = this.output.slice(this.released);
      this.released = this.output.length;
    }
    this.current = result.kind === 'text' ? 'text' : 'tool-call';
    return { release, result };
  }
}

function decide(output: string): StreamMode {
  const start = output.trimStart();
  if (start === '') return 'undecided';
  if (start[0] === '{' || start[0] === '[') return 'tool-call';
  if (start.startsWith(PYTHON_TAG)) return 'tool-call';
  // Still a possible prefix of <|python_tag|>: wait for more characters.
  if (PYTHON_TAG.startsWith(start)) return 'undecided';
  return 'text';
}
