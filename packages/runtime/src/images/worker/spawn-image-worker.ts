/**
 * Starts the image worker thread. Sources run as TypeScript through tsx, and a worker's entry
 * module is resolved before any `--import` hook applies (Node 20), so for .ts sources the worker
 * starts from a small bootstrap that registers tsx and then imports the entry; compiled .js
 * sources start the entry directly. (Same approach as generation/worker/spawn.ts.)
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const sourceExt = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((api) => {
  api.register();
  return import(workerData.entry);
});
`;

export function spawnImageWorker(): Worker {
  const entry = new URL(`./image-worker-entry.${sourceExt}`, import.meta.url);
  if (sourceExt === 'js') return new Worker(entry);
  return new Worker(BOOTSTRAP, { eval: true, workerData: { tsxApi: tsxEsmApiUrl(), entry: entry.href } });
}

/** The ESM build of tsx's register API, from tsx's package exports. */
function tsxEsmApiUrl(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const file = pkg.exports['./esm/api']?.import?.default;
  if (!file) throw new Error(`tsx at ${pkgPath} has no ESM register API (exports["./esm/api"])`);
  return pathToFileURL(path.join(path.dirname(pkgPath), file)).href;
}
