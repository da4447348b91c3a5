// kill -9 between turns must lose no completed turn: a child process runs turns against a
// FileSessionStore and reports each one after run() resolved; the parent kills it with SIGKILL.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSessionStore, sessionMessages } from '@lookout/core';

// The child's code is evaluated (node -e) in this folder, so it imports the packages by name as
// this file does.
const here = path.dirname(fileURLToPath(import.meta.url));

const childSource = (dir: string) => `
import { Agent, FileSessionStore } from '@lookout/core';
import { ScriptedModel } from '@lookout/core/testing';
const model = new ScriptedModel({ steps: [[{ type: 'text', text: 'noted' }]], whenExhausted: 'repeat-last' });
const agent = new Agent({ model, sessions: new FileSessionStore(${JSON.stringify(dir)}) });
for (let n = 1; ; n++) {
  await agent.run('message ' + n, { sessionId: 'crash' });
  process.stdout.write('done ' + n + '\\n');
}
`;

describe('FileSessionStore under kill -9', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lookout-crash-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every turn the child reported complete, and the session continues', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', childSource(path.join(dir, 'sessions'))], {
      cwd: here,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let reported = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const matches = [...d.toString().matchAll(/done (\d+)/g)];
        if (matches.length) reported = Number(matches[matches.length - 1][1]);
        if (reported >= 20) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => (reported >= 20 ? resolve() : reject(new Error(`child exited early: ${stderr}`))));
    });
    expect(await exited).toBe('SIGKILL');

    const store = new FileSessionStore(path.join(dir, 'sessions'));
    const snap = await store.load('crash');
    // Every reported turn is there, in order; at most the one in flight may be torn.
    expect(snap.turns.length).toBeGreaterThanOrEqual(reported);
    expect(snap.skippedLines).toBeLessThanOrEqual(1);
    const users = sessionMessages(snap).filter((m) => m.role === 'user').map((m) => m.content);
    expect(users.slice(0, reported)).toEqual(Array.from({ length: reported }, (_, i) => `message ${i + 1}`));

    // The session resumes: a new turn after the crash sees the stored conversation.
    const { Agent } = await import('@lookout/core');
    const { ScriptedModel } = await import('@lookout/core/testing');
    const model = ScriptedModel.replying('welcome back');
    await new Agent({ model, sessions: store }).run('still there?', { sessionId: 'crash' });
    expect(JSON.stringify(model.requests[0].messages)).toContain('message 1"');
    expect((await store.load('crash')).turns.length).toBe(snap.turns.length + 1);
  });
});
