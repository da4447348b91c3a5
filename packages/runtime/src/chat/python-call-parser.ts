import { LookoutError } from '@lookout/tools/errors';

/**
 * Reads Python-style calls, the other tool-call shape Llama models write:
 * `<|python_tag|>brave_search.call(query="weather in SF")` (built-in tools) and the list form
 * `[get_weather(city="Paris", days=3), get_time(tz='CET')]`. Arguments are keyword arguments
 * with Python literal values (str, int/float, True/False/None, list, dict), turned into JSON.
 */
export interface PythonCall {
  name: string;
  arguments: Record<string, unknown>;
}

export class PythonCallSyntaxError extends LookoutError<'CHAT_PYTHON_CALL_SYNTAX'> {
  constructor(message: string, readonly position: number) {
    super('CHAT_PYTHON_CALL_SYNTAX', `${message} at character ${position}`);
  }
}

/** Does the text start like a call (`name(` or `[name(`)? Cheap check before a full parse. */
export function looksLikePythonCall(text: string): boolean {
  return /^\[?\s*[A-Za-z_][\w.]*\s*\(/.test(text);
}

/** Parses `[call, call]` or `call; call` / one call per line. Throws PythonCallSyntaxError. */
export function parsePythonCalls(text: string): PythonCall[] {
  return new Reader(text).calls();
}

class Reader {
  private i = 0;
  constructor(private readonly s: string) {}

  calls(): PythonCall[] {
    this.space();
    const bracketed = this.s[this.i] === '[';
    if (bracketed) this.i++;
    const calls: PythonCall[] = [];
    for (;;) {
      this.space();
      if (bracketed && this.peek(']')) {
        this.i++;
        break;
      }
      if (!bracketed && this.i >= this.s.length) break;
      calls.push(this.call());
      this.space();
      if (this.peek(',') || this.peek(';')) this.i++;
      else if (bracketed && !this.peek(']')) this.fail("expected ',' or ']' after a call");
    }
    this.space();
    if (this.i < this.s.length) this.fail('unexpected text after the calls');
    if (calls.length === 0) this.fail('no call found');
    return calls;
  }

  private call(): PythonCall {
    let name = this.identifier(true);
    // Built-in tools are written `tool.call(...)`; the tool's name is the part before `.call`.
    if (name.endsWith('.call')) name = name.slice(0, -'.call'.length);
    this.space();
    this.expect('(');
    const args: Record<string, unknown> = {};
    for (;;) {
      this.space();
      if (this.peek(')')) {
        this.i++;
        break;
      }
      const key = this.identifier(false);
      this.space();
      this.expect('=');
      args[key] = this.value();
      this.space();
      if (this.peek(',')) this.i++;
      else if (!this.peek(')')) this.fail("expected ',' or ')' in the argument list");
    }
    return { name, arguments: args };
  }

  private value(): unknown {
    this.space();
    const ch = this.s[this.i];
    if (ch === '"' || ch === "'") return this.string();
    if (ch === '[' || ch === '(') return this.list(ch === '[' ? ']' : ')');
    if (ch === '{') return this.dict();
    const word = /^(True|False|None|true|false|null)\b/.exec(this.s.slice(this.i));
    if (word) {
      this.i += word[0].length;
      return word[0] === 'True' || word[0] === 'true' ? true : word[0] === 'False' || word[0] === 'false' ? false : null;
    }
    const num = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    if (num) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    return this.fail('expected a value (string, number, True/False/None, list or dict)');
  }

  private string(): string {
    const quote = this.s[this.i++];
    let out = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i++]!;
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = this.s[this.i++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
      if (esc !== undefined && esc in simple) out += simple[esc];
      else if (esc === 'u' && /^[0-9a-fA-F]{4}/.test(this.s.slice(this.i, this.i + 4))) {
        out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16));
        this.i += 4;
      } else out += '\\' + (esc ?? '');
    }
    return this.fail('unterminated string');
  }

  private list(close: string): unknown[] {
    this.i++;
    const items: unknown[] = [];
    for (;;) {
      this.space();
      if (this.peek(close)) {
        this.i++;
        return items;
      }
      items.push(this.value());
      this.space();
      if (this.peek(',')) this.i++;
      else if (!this.peek(close)) this.fail(`expected ',' or '${close}' in a list`);
    }
  }

  private dict(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.space();
      if (this.peek('}')) {
        this.i++;
        return out;
      }
      const key = this.value();
      if (typeof key !== 'string' && typeof key !== 'number') this.fail('dict keys must be strings or numbers');
      this.space();
      this.expect(':');
      out[String(key)] = this.value();
      this.space();
      if (this.peek(',')) this.i++;
      else if (!this.peek('}')) this.fail("expected ',' or '}' in a dict");
    }
  }

  private identifier(dotted: boolean): string {
    const match = (dotted ? /^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*/ : /^[A-Za-z_]\w*/).exec(this.s.slice(this.i));
    if (!match) return this.fail('expected a name');
    this.i += match[0].length;
    return match[0];
  }

  private space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  private peek(ch: string): boolean {
    return this.s[this.i] === ch;
  }

  private expect(ch: string): void {
    if (!this.peek(ch)) this.fail(`expected '${ch}'`);
    this.i++;
  }

  private fail(message: string): never {
    throw new PythonCallSyntaxError(message, this.i);
  }
}
