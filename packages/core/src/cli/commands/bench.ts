import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliCommand } from '../command.js';
import { CliUsageError, parseCliArgs } from '../command.js';

const usage = `Usage: lookout bench [name ...] [--json <file>]

Runs the benchmarks in bench/*.bench.ts (all, or the ones named, e.g. "generation guards").
Every speed figure is a ratio against a baseline measured in the same process.

  --json <file>   also write every row as JSON to <file>
`;

/** bench/run.ts lives at the repository root, four levels above this file. */
const runner = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../bench/run.ts');

const bench: CliCommand = {
  name: 'bench',
  summary: 'run the benchmarks (bench/*.bench.ts) and print ratios against their baselines',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCliArgs(argv, { json: { type: 'string' } }, true);
    if (!existsSync(runner)) {
      io.stderr.write(`lookout bench: ${runner} not found; benchmarks run from a checkout of the Lookout repository\n`);
      return 1;
    }
    const known = readdirSync(path.dirname(runner))
      .filter((f) => f.endsWith('.bench.ts'))
      .map((f) => f.replace(/\.bench\.ts$/, ''));
    const unknown = positionals.filter((p) => !known.includes(p));
    if (unknown.length) throw new CliUsageError(`no benchmark named ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${known.join(', ')}`);
    // A child process so each bench run starts from a cold, comparable state.
    const child = spawn(process.execPath, ['--import', 'tsx', runner, ...positionals], {
      cwd: path.dirname(path.dirname(runner)),
      env: { ...process.env, ...(values.json ? { BENCH_JSON: path.resolve(values.json) } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d) => io.stdout.write(d));
    child.stderr.on('data', (d) => io.stderr.write(d));
    return new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
  },
};

export default bench;
