import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

it('the quickstart runs, blocks the injection and completes the approved refund', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/quickstart/main.ts'], { cwd: root });
  expect(stdout).toContain('Your order A-1001 has shipped.');
  expect(stdout).toContain('blocked at input');
  expect(stdout).not.toContain('This text is never released.');
  expect(stdout).toContain('approval needed for refund');
  expect(stdout).toContain('Your refund of 80 is on its way.');
});
