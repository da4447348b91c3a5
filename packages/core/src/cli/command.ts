import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LookoutError } from '@lookout/tools';

/** One `lookout` sub-command. Each lives in cli/commands/<name>.ts as its default export. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface CliCommand {
  name: string;
  /** One line for `lookout --help`. */
  summary: string;
  /** Full text for `lookout <name> --help`. */
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Wrong flags or values on the command line: exit code 2 and a pointer to --help. */
export class CliUsageError extends LookoutError<'cli.usage'> {
  constructor(message: string) {
    super('cli.usage', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

type OptionValue<T> = T extends { type: 'boolean' } ? boolean : string;

/** Parsed flags: strings for string options, booleans for boolean ones, arrays for `multiple` ones. */
export interface ParsedCliArgs<O extends Options> {
  values: { [K in keyof O]?: O[K] extends { multiple: true } ? OptionValue<O[K]>[] : OptionValue<O[K]> };
  positionals: string[];
}

/** node:util parseArgs with strict checking, its errors turned into CliUsageError. */
export function parseCliArgs<O extends Options>(argv: string[], options: O, allowPositionals = false): ParsedCliArgs<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals }) as unknown as ParsedCliArgs<O>;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}

/** A whole number from a flag, or a usage error naming the flag and the accepted range. */
export function intOption(value: string | undefined, flag: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliUsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}
