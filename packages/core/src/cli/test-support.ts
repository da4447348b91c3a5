// Runs a CLI command in-process with captured output, for the commands' tests.
import { PassThrough } from 'node:stream';
import type { CliCommand, CliIo } from './command.js';

/** A CliIo over in-memory streams; out() and err() return everything written so far. */
export function captureIo(): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { io: { stdout, stderr, stdin: new PassThrough() }, out: () => out, err: () => err };
}

/** Runs `command` with `argv`; resolves with its exit code and what it wrote. */
export async function runCommand(command: CliCommand, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo();
  const code = await command.run(argv, c.io);
  return { code, out: c.out(), err: c.err() };
}
