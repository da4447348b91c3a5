// Shared by the suites that take their own options or run each measurement in a child process.
import { spawn } from 'node:child_process';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LookoutError } from '@lookout/tools/errors';

/** A suite option out of range or not one of the choices. */
export class BenchOptionError extends LookoutError<'BENCH_BAD_OPTION'> {
  constructor(message: string) {
    super('BENCH_BAD_OPTION', message);
  }
}

/** A suite's own options: the arguments after `--` (`pnpm bench <suite> -- --size small`); others are ignored. */
export function suiteOptions(options: NonNullable<ParseArgsConfig['options']>): Record<string, string | boolean | undefined> {
  const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), strict: false, options });
  return values as Record<string, string | boolean | undefined>;
}

/**
 * Runs `child` (a .ts file, through tsx) with `job` as its one JSON argument and resolves with the
 * JSON object on the last line it prints; a non-zero exit or no JSON rejects, naming `what`.
 */
export function runJsonChild<T>(child: string, job: unknown, what: string, nodeArgs: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', child, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${what} exited with ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}
