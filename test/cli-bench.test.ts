import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookout } from './cli-helpers.js';

// Only the shape of the report is checked: speed figures vary from machine to machine.
describe('lookout bench', () => {
  it('runs one named suite end to end and prints rows with a baseline and a ratio', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-bench-'));
    try {
      const json = path.join(dir, 'rows.json');
      // "agent" is the quickest suite (a few seconds); it simulates model and guard latency.
      const run = lookout(['bench', 'agent', '--json', json]);
      expect(await run.exit, run.stderr()).toBe(0);
      const out = run.stdout();
      expect(out).toMatch(/^agent$/m);
      const rows = out.split('\n').filter((line) => line.startsWith('  '));
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((line) => /\| baseline [^:]+: \S+ .*\| ratio \d+(\.\d+)?\b/.test(line))).toBe(true);
      // No other suite ran.
      expect(out).not.toMatch(/^(tokenizer|guards|generation|images|builder)$/m);

      const written = JSON.parse(await readFile(json, 'utf8')) as Array<{ suite: string; name: string; value: number; baseline?: { value: number } }>;
      expect(written.length).toBe(rows.length);
      expect(new Set(written.map((r) => r.suite))).toEqual(new Set(['agent']));
      for (const r of written) expect(out).toContain(`  ${r.name}: `);
      expect(written.some((r) => typeof r.baseline?.value === 'number')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
