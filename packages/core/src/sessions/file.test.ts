import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSessionStore } from './file.js';
import { MemorySessionStore } from './memory.js';
import { sessionMessages, type TurnRecord } from './types.js';

const turn = (n: number, extra: Partial<TurnRecord> = {}): TurnRecord => ({
  turnId: `t${n}`,
  runId: `r${n}`,
  startedAt: new Date(0).toISOString(),
  endedAt: new Date(1).toISOString(),
  status: 'completed',
  messages: [
    { role: 'user', content: `question ${n}` },
    { role: 'assistant', content: `answer ${n}` },
  ],
  audit: [],
  ...extra,
});

describe('FileSessionStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lookout-sessions-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per turn and reads them back in order', async () => {
    const store = new FileSessionStore(dir);
    await Promise.all([store.appendTurn('s1', turn(1)), store.appendTurn('s1', turn(2)), store.appendTurn('s1', turn(3))]);
    const snap = await store.load('s1');
    expect(snap.turns.map((t) => t.turnId)).toEqual(['t1', 't2', 't3']);
    expect(sessionMessages(snap)).toHaveLength(6);
    const text = await readFile(path.join(dir, 's1.jsonl'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(3);
  });

  it('skips a torn last line and starts the next append on a fresh line', async () => {
    const store = new FileSessionStore(dir);
    await store.appendTurn('s', turn(1));
    await appendFile(path.join(dir, 's.jsonl'), '{"turnId":"t2","runId":"r2","mess');
    let snap = await store.load('s');
    expect(snap.turns.map((t) => t.turnId)).toEqual(['t1']);
    expect(snap.skippedLines).toBe(1);
    await store.appendTurn('s', turn(3));
    snap = await store.load('s');
    expect(snap.turns.map((t) => t.turnId)).toEqual(['t1', 't3']);
    expect(snap.skippedLines).toBe(1);
  });

  it('versions stay right when an append reads only what was added since its last one (other writers, torn lines, a replaced file)', async () => {
    const [mine, theirs] = [new FileSessionStore(dir), new FileSessionStore(dir)];
    const file = path.join(dir, 'v.jsonl');
    await mine.appendTurn('v', turn(1), { expectedVersion: 0 });
    await theirs.appendTurn('v', turn(2), { expectedVersion: 1 });
    await expect(mine.appendTurn('v', turn(3), { expectedVersion: 1 })).rejects.toMatchObject({ code: 'session-conflict', actualVersion: 2 });
    await mine.appendTurn('v', turn(3), { expectedVersion: 2 });
    await appendFile(file, '{"turnId":"torn","mess');
    await expect(mine.appendTurn('v', turn(4), { expectedVersion: 4 })).rejects.toMatchObject({ actualVersion: 3 });
    await mine.appendTurn('v', turn(4), { expectedVersion: 3 });
    // A whole turn whose newline was lost still counts, as load() counts it.
    await appendFile(file, JSON.stringify(turn(5)));
    await mine.appendTurn('v', turn(6), { expectedVersion: 5 });
    expect((await mine.load('v')).turns.map((t) => t.turnId)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
    // The file replaced by a shorter one: counted afresh.
    await rm(file);
    await theirs.appendTurn('v', turn(7), { expectedVersion: 0 });
    await expect(mine.appendTurn('v', turn(8), { expectedVersion: 6 })).rejects.toMatchObject({ actualVersion: 1 });
    await mine.appendTurn('v', turn(8), { expectedVersion: 1 });
    expect((await theirs.load('v')).turns.map((t) => t.turnId)).toEqual(['t7', 't8']);
  });

  it('returns an empty session for an unknown id', async () => {
    expect((await new FileSessionStore(dir).load('nobody')).turns).toEqual([]);
  });

  it('rejects ids that could escape the directory', async () => {
    const store = new FileSessionStore(dir);
    for (const id of ['../etc/passwd', '.hidden', 'a/b', '', 'x'.repeat(200)]) {
      await expect(store.load(id)).rejects.toMatchObject({ code: 'session-invalid-id' });
    }
  });
});

describe('MemorySessionStore', () => {
  it('keeps copies, not references', async () => {
    const store = new MemorySessionStore();
    const t = turn(1);
    await store.appendTurn('m', t);
    t.messages.length = 0;
    expect((await store.load('m')).turns[0].messages).toHaveLength(2);
  });
});
