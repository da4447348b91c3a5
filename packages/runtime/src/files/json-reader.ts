import { readFile } from 'node:fs/promises';
import { ModelFileError } from './errors.js';

/** Reads and parses a JSON file, with typed errors for a missing file or bad JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelFileError('MODEL_FILE_MISSING', `${file}: file not found`, file);
    throw new ModelFileError('MODEL_FILE_MISSING', `${file}: cannot read (${code ?? (err as Error).message})`, file);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFileError('MODEL_FILE_INVALID_JSON', `${file}: not valid JSON (${(err as Error).message})`, file);
  }
}

interface NumberRule {
  /** Used when the field is absent or null. Without it the field is required. */
  default?: number;
  min?: number;
  /** Value must be > 0. */
  positive?: boolean;
}

/**
 * Typed access to one JSON object of a config file. Every failure names the file and the
 * dotted field path and says what is accepted. Absent and null are treated alike, because
 * transformers writes unset optional fields as null.
 */
export class FieldReader {
  private constructor(
    readonly file: string,
    private readonly obj: Record<string, unknown>,
    private readonly prefix: string,
  ) {}

  static root(file: string, value: unknown, what = 'the file'): FieldReader {
    if (!isObject(value)) {
      throw new ModelFileError('MODEL_CONFIG_INVALID', `${file}: ${what} must be a JSON object, got ${describe(value)}`, file);
    }
    return new FieldReader(file, value, '');
  }

  path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  child(key: string): FieldReader {
    const v = this.obj[key];
    if (!isObject(v)) this.fail(key, 'an object', v);
    return new FieldReader(this.file, v, this.path(key));
  }

  optionalChild(key: string): FieldReader | undefined {
    return this.has(key) ? this.child(key) : undefined;
  }

  num(key: string, rule: NumberRule = {}): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (rule.default !== undefined) return rule.default;
      this.fail(key, 'a number', v);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a finite number', v);
    this.checkRange(key, v, rule);
    return v;
  }

  int(key: string, rule: NumberRule = {}): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (rule.default !== undefined) return rule.default;
      this.fail(key, rule.positive ? 'a positive integer' : 'an integer', v);
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(key, rule.positive ? 'a positive integer' : 'an integer', v);
    this.checkRange(key, v, rule);
    return v;
  }

  optionalInt(key: string, rule: Omit<NumberRule, 'default'> = {}): number | undefined {
    return this.has(key) ? this.int(key, rule) : undefined;
  }

  optionalNum(key: string, rule: Omit<NumberRule, 'default'> = {}): number | undefined {
    return this.has(key) ? this.num(key, rule) : undefined;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.obj[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false', v);
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.obj[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v;
  }

  optionalStr(key: string): string | undefined {
    return this.has(key) ? this.str(key) : undefined;
  }

  intArray(key: string, rule: { fallback?: number[]; min?: number; length?: number } = {}): number[] {
    const v = this.obj[key];
    if ((v === undefined || v === null) && rule.fallback !== undefined) return [...rule.fallback];
    const what = `an array of integers${rule.length !== undefined ? ` of length ${rule.length}` : ''}`;
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) this.fail(key, what, v);
    if (rule.length !== undefined && v.length !== rule.length) this.fail(key, what, v);
    if (rule.min !== undefined && v.some((x: number) => x < rule.min!)) this.fail(key, `integers >= ${rule.min}`, v);
    return v as number[];
  }

  numArray(key: string, rule: { length?: number } = {}): number[] {
    const v = this.obj[key];
    const what = `an array of numbers${rule.length !== undefined ? ` of length ${rule.length}` : ''}`;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) this.fail(key, what, v);
    if (rule.length !== undefined && v.length !== rule.length) this.fail(key, what, v);
    return v as number[];
  }

  /** Token-id fields such as eos_token_id may be one id or a list of ids. */
  optionalIdOrIds(key: string): number | number[] | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x) && x >= 0)) return v as number[];
    this.fail(key, 'a token id or a non-empty list of token ids', v);
  }

  /** Throws MODEL_CONFIG_INVALID naming the file, the field, what was found and what is accepted. */
  fail(key: string, expected: string, got: unknown): never {
    const field = this.path(key);
    const found = got === undefined ? 'it is missing' : `got ${describe(got)}`;
    throw new ModelFileError('MODEL_CONFIG_INVALID', `${this.file}: field "${field}" must be ${expected}; ${found}`, this.file, field);
  }

  private checkRange(key: string, v: number, rule: NumberRule): void {
    if (rule.positive && !(v > 0)) this.fail(key, 'positive', v);
    if (rule.min !== undefined && v < rule.min) this.fail(key, `>= ${rule.min}`, v);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
