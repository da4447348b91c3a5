import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionConflictError } from '../errors.js';
import { FileSessionStore } from './file.js';
import { MemorySessionStore } from './memory.js';
import type { SessionStore, TurnRecord } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const turn = (id: string): TurnRecord => ({
  turnId: id,
  runId: `r-${id}`,
  startedAt: new Date(0).toISOString(),
  endedAt: new Date(1).toISOString(),
  status: 'completed',
  messages: [{ role: 'user', content: id }],
  audit: [],
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lookout-versions-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => [SessionStore, SessionStore]]> = [
  ['MemorySessionStore', () => { const s = new MemorySessionStore(); return [s, s]; }],
  ['FileSessionStore (two instances on one directory)', () => [new FileSessionStore(dir), new FileSessionStore(dir)]],
];

describe.each(stores)('%s: one writer per session', (_name, make) => {
  it('load() gives the version (number of turns); an append against it moves it on', async () => {
    const [store] = make();
    expect((await store.load('s')).version).toBe(0);
    await store.appendTurn('s', turn('a'), { expectedVersion: 0 });
    await store.appendTurn('s', turn('b'), { expectedVersion: 1 });
    const snap = await store.load('s');
    expect(snap.version).toBe(2);
    expect(snap.turns.map((t) => t.turnId)).toEqual(['a', 'b']);
  });

  it('of two concurrent appends against the same version, one wins and the other gets SessionConflictError and writes nothing', async () => {
    const [one, two] = make();
    await one.appendTurn('s', turn('first'));
    const { version } = await one.load('s');
    const results = await Promise.allSettled([
      one.appendTurn('s', turn('left'), { expectedVersion: version }),
      two.appendTurn('s', turn('right'), { expectedVersion: version }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(SessionConflictError);
    expect(lost[0]!.reason).toMatchObject({ code: 'session-conflict', sessionId: 's', expectedVersion: 1, actualVersion: 2 });
    const snap = await two.load('s');
    expect(snap.version).toBe(2);
    expect(snap.turns).toHaveLength(2);
  });

  it('rejects an expectedVersion that is not a whole number of 0 or more', async () => {
    const [store] = make();
    for (const bad of [-1, 1.5, Number.NaN, '1' as unknown as number]) {
      await expect(store.appendTurn('s', turn('x'), { expectedVersion: bad })).rejects.toMatchObject({ code: 'session-invalid-version' });
    }
    expect((await store.load('s')).version).toBe(0);
  });
});

describe('FileSessionStore across processes', () => {
  it('two processes appending to one session against loaded versions never interleave or lose a turn', async () => {
    const run = (tag: string) =>
      new Promise<{ conflicts: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'append-worker.ts'), dir, 'shared', tag, '15'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { conflicts: number }) : reject(new Error(`worker ${tag} exited ${code}`))));
      });
    await Promise.all([run('a'), run('b')]);
    const snap = await new FileSessionStore(dir).load('shared');
    expect(snap.skippedLines).toBe(0);
    expect(snap.version).toBe(30);
    // Every turn was written against the version it saw: versions 0..29, each exactly once.
    expect(snap.turns.map((t) => (t.messages[0]!.content as string).replace('after version ', ''))).toEqual(
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
    const text = await readFile(path.join(dir, 'shared.jsonl'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(30);
  }, 60_000);

  it('takes over a lock file left by a process that died', async () => {
    await writeFile(path.join(dir, 's.jsonl.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), nonce: 'x' }));
    const store = new FileSessionStore(dir, { timeoutMs: 2000 });
    await store.appendTurn('s', turn('a'), { expectedVersion: 0 });
    expect((await store.load('s')).version).toBe(1);
  });

  it('waits for a live holder and then reports the lock as a session-io error naming the lock file', async () => {
    await writeFile(path.join(dir, 's.jsonl.lock'), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'held' }));
    const store = new FileSessionStore(dir, { timeoutMs: 150 });
    await expect(store.appendTurn('s', turn('a'))).rejects.toMatchObject({ code: 'session-io', message: expect.stringContaining('s.jsonl.lock') });
  });
});
