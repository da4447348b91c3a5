// Runs every bench/*.bench.ts (or the ones named on the command line) and prints their rows.
// Each figure that has a baseline was measured against it in this same process.
// Arguments after the suite names that start with "-" are the suites' own options
// (`pnpm bench llamacpp -- --size small --json`); with --json a suite prints one JSON object
// and the rows are not printed.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatRow, type Bench, type BenchRow } from './report.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a !== '--');
const firstOption = args.findIndex((a) => a.startsWith('-'));
const only = firstOption < 0 ? args : args.slice(0, firstOption);
const quiet = args.includes('--json');
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).sort();
const rows: Array<BenchRow & { suite: string }> = [];
for (const file of files) {
  const suite = file.replace(/\.bench\.ts$/, '');
  if (only.length && !only.includes(suite)) continue;
  if (!quiet) console.log(`\n${suite}`);
  const bench = (await import(pathToFileURL(path.join(dir, file)).href)).default as Bench;
  await bench((row) => {
    rows.push({ ...row, suite });
    if (!quiet) console.log(formatRow(row));
  });
}
if (process.env.BENCH_JSON) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(process.env.BENCH_JSON, JSON.stringify(rows, null, 2));
}
