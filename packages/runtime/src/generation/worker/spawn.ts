/**
 * Starting the engine worker. The runtime runs from TypeScript sources through tsx, but a worker
 * thread's entry module is resolved before any `--import` hook applies (Node 20), so for .ts
 * sources the worker starts from a tiny bootstrap that registers tsx first and then imports the
 * real entry. Compiled .js sources start the entry directly.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const sourceExt = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

/** A runtime module by its path under src/ without extension, e.g. "onnx/index". */
export function runtimeModuleUrl(relativeToSrc: string): URL {
  return new URL(`../../${relativeToSrc}.${sourceExt}`, import.meta.url);
}

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.__tsxApi).then((api) => {
  api.register();
  return import(workerData.__entry);
});
`;

export function spawnEngineWorker(workerData: Record<string, unknown>): Worker {
  const entry = new URL(`./engine-worker.${sourceExt}`, import.meta.url);
  if (sourceExt === 'js') return new Worker(entry, { workerData });
  const tsxApi = tsxEsmApiUrl();
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...workerData, __tsxApi: tsxApi, __entry: entry.href } });
}

/** The ESM build of tsx's register API, read from tsx's own package exports. */
function tsxEsmApiUrl(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const file = pkg.exports['./esm/api']?.import?.default;
  if (!file) throw new Error(`tsx at ${pkgPath} has no ESM register API (exports["./esm/api"])`);
  return pathToFileURL(path.join(path.dirname(pkgPath), file)).href;
}
