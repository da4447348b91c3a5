// Runs every bench/*.bench.ts (or the ones named on the command line) and prints their rows.
// Each figure that has a baseline was measured against it in this same process.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatRow, type Bench, type BenchRow } from './report.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).sort();
const rows: Array<BenchRow & { suite: string }> = [];
for (const file of files) {
  const suite = file.replace(/\.bench\.ts$/, '');
  if (only.length && !only.includes(suite)) continue;
  console.log(`\n${suite}`);
  const bench = (await import(pathToFileURL(path.join(dir, file)).href)).default as Bench;
  await bench((row) => {
    rows.push({ ...row, suite });
    console.log(formatRow(row));
  });
}
if (process.env.BENCH_JSON) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(process.env.BENCH_JSON, JSON.stringify(rows, null, 2));
}
