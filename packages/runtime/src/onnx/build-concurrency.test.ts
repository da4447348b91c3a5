// Replicas started together on a model that is not built yet: each process builds the same
// directory at once. One builds, the others wait for it and use its result; nothing is corrupt.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { BUILD_LOCK_FILE, acquireBuildLock } from './build-lock.js';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const temp = useTempDirs();
const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../../..');

/** Runs buildModel(modelDir) in a child process once `go` exists; resolves with what it printed. */
function buildInChild(modelDir: string, go: string, script: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, modelDir, go], { cwd: repoRoot });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

describe('concurrent builds of one model', () => {
  it('two processes building the same tiny model at once both succeed; one builds, the other reuses it; the result loads', async () => {
    const dir = temp('lookout-build-race-');
    await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 5 });
    const work = temp('lookout-build-race-script-');
    const script = join(work, 'build-one.mts');
    writeFileSync(
      script,
      [
        `import { existsSync } from 'node:fs';`,
        `import { buildModel } from ${JSON.stringify(pathToFileURL(join(here, 'build.ts')).href)};`,
        `const [modelDir, go] = process.argv.slice(2);`,
        `while (!existsSync(go)) await new Promise((r) => setTimeout(r, 5));`,
        `const result = await buildModel(modelDir, { lock: { pollMs: 20 } });`,
        `console.log(JSON.stringify({ reused: result.reused === true, tensors: result.tensors }));`,
      ].join('\n'),
    );
    const go = join(work, 'go');
    const runs = [buildInChild(dir, go, script), buildInChild(dir, go, script)];
    // Both children load their modules first, then start building in the same instant.
    await new Promise((r) => setTimeout(r, 3000));
    writeFileSync(go, '');
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.out).toBe(0);
    const reports = results.map((r) => JSON.parse(r.out.trim().split('\n').at(-1)!) as { reused: boolean; tensors: number });
    expect(reports.map((r) => r.reused).sort()).toEqual([false, true]);

    const outDir = join(dir, 'onnx-fp32');
    // No temporary file or lock is left behind.
    expect(readdirSync(outDir).filter((f) => /\.(partial|tmp)$/.test(f) || f === BUILD_LOCK_FILE)).toEqual([]);
    const engine = await OnnxEngine.load(outDir);
    try {
      const session = await engine.prefill([1, 2, 3, 4]);
      expect(session.logits.length).toBe(engine.vocabSize);
      expect([...session.logits].every(Number.isFinite)).toBe(true);
      session.dispose();
    } finally {
      await engine.dispose();
    }
  }, 180_000);

  it('takes over a lock left by a process that is gone, and cleans up its temporary files', async () => {
    const dir = temp('lookout-build-stale-');
    await writeTinyCheckpoint(dir, { arch: 'llama', seed: 2, tokenizer: false });
    const outDir = join(dir, 'onnx-fp32');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, BUILD_LOCK_FILE), JSON.stringify({ pid: deadPid, host: hostname(), started: new Date().toISOString() }));
    writeFileSync(join(outDir, `weights.onnx.data.${deadPid}-0badc0de.partial`), 'half a build');
    const result = await buildModel(dir, { lock: { pollMs: 10, timeoutMs: 10_000 } });
    expect(result.reused).toBeUndefined();
    expect(existsSync(join(outDir, BUILD_LOCK_FILE))).toBe(false);
    expect(readdirSync(outDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  }, 60_000);

  it('a build waiting on a live lock gives up after timeoutMs with ONNX_BUILD_LOCKED', async () => {
    const dir = temp('lookout-build-held-');
    await writeTinyCheckpoint(dir, { arch: 'llama', seed: 2, tokenizer: false });
    const outDir = join(dir, 'onnx-fp32');
    mkdirSync(outDir, { recursive: true });
    const held = await acquireBuildLock(outDir);
    try {
      await expect(buildModel(dir, { lock: { pollMs: 10, timeoutMs: 100 } })).rejects.toMatchObject({ code: 'ONNX_BUILD_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
    } finally {
      held.release();
    }
    expect(existsSync(join(outDir, BUILD_LOCK_FILE))).toBe(false);
    // Released: the next build goes ahead, and a second one with reuseExisting reuses it.
    expect((await buildModel(dir, { lock: { pollMs: 10 } })).reused).toBeUndefined();
    expect((await buildModel(dir, { reuseExisting: true })).reused).toBe(true);
  }, 60_000);
});
