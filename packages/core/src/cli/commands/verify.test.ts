import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../test-support.js';
import verify from './verify.js';

const REF = '/work/shared/reference/image_processor';

const run = (argv: string[]) => runCommand(verify, argv);

describe.skipIf(!existsSync(REF))('lookout verify --images', () => {
  it('passes on the reference and prints per-image figures', async () => {
    const { code, out } = await run(['--images', REF]);
    expect(code).toBe(0);
    expect(out).toMatch(/#3 images\/img3_1500x1000_rgb\.png: maxAbsDiff 0, tiles 4\/4 ok/);
    expect(out).toMatch(/4 checked, 0 skipped: PASS/);
  });

  it('prints the report as JSON', async () => {
    const { code, out } = await run(['--images', REF, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.pass).toBe(true);
    expect(report.results.every((r: { maxAbsDiff: number }) => r.maxAbsDiff === 0)).toBe(true);
  });

  it('exits 1 when a reference value disagrees', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lookout-verify-'));
    try {
      await cp(REF, dir, { recursive: true });
      await chmod(path.join(dir, 'expected.json'), 0o644);
      const json = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8'));
      json.images[1].resized_hw = [401, 1200];
      await writeFile(path.join(dir, 'expected.json'), JSON.stringify(json));
      const { code, out } = await run(['--images', dir]);
      expect(code).toBe(1);
      expect(out).toMatch(/#1 .*resized MISMATCH.* -> FAIL/);
      expect(out).toMatch(/: FAIL\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const CASE = '/work/shared/reference/mllama/tiny-text';
const hasVerifyCase = async () => typeof ((await import('@lookout/runtime')) as Record<string, unknown>).verifyCase === 'function';

describe.skipIf(!existsSync(CASE))('lookout verify <case-dir>', () => {
  it('runs the ONNX check on a model case and exits by its verdict', async (ctx) => {
    if (!(await hasVerifyCase())) ctx.skip('runtime has no verifyCase');
    const ok = await run([CASE]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/greedyMatch: true/);
    expect(ok.out).toMatch(/PASS\n$/);
    const strict = await run([CASE, '--tolerance', '1e-12', '--json']);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.out).pass).toBe(false);
  });
});

describe('lookout verify arguments', () => {
  it('rejects missing and conflicting arguments with exit code 2', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['--images', REF, 'some-case'])).code).toBe(2);
    expect((await run(['--images', REF, '--tolerance', 'abc'])).code).toBe(2);
  });

  it('reports a missing reference directory with the error code', async () => {
    const { code, err } = await run(['--images', '/nonexistent-dir']);
    expect(code).toBe(1);
    expect(err).toMatch(/IMAGE_CONFIG_INVALID/);
  });
});
