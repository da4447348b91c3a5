/**
 * Starting a worker thread on a runtime module. The runtime runs from TypeScript sources through
 * tsx, but a worker thread's entry module is resolved before any `--import` hook applies
 * (Node 20), so a .ts entry starts from a tiny bootstrap that registers tsx first and then
 * imports the real entry. A compiled .js entry starts directly.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Extension of this build's modules: "ts" when running the sources, "js" when compiled. */
export const SOURCE_EXT: 'ts' | 'js' = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

// Runs as CommonJS eval code inside the worker; the two __ fields are added by spawnModuleWorker.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.__tsxApi).then((api) => {
  api.register();
  return import(workerData.__entry);
});
`;

/**
 * A worker running `entry`. For a .ts entry, workerData also carries `__tsxApi` and `__entry`
 * (read by the bootstrap), so entries must not use those two names.
 */
export function spawnModuleWorker(entry: URL, workerData: Record<string, unknown> = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...workerData, __tsxApi: tsxEsmApiUrl(), __entry: entry.href } });
}

/** The ESM build of tsx's register API, read from tsx's own package exports. */
function tsxEsmApiUrl(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const file = pkg.exports['./esm/api']?.import?.default;
  if (!file) throw new Error(`tsx at ${pkgPath} has no ESM register API (exports["./esm/api"])`);
  return pathToFileURL(path.join(path.dirname(pkgPath), file)).href;
}
