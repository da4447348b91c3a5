import { describe, expect, it } from 'vitest';
import { GenerationAbortedError, QueueFullError } from '../errors.js';
import { RequestQueue } from './request-queue.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('RequestQueue', () => {
  it('runs one task at a time in arrival order', async () => {
    const q = new RequestQueue(4);
    const order: string[] = [];
    let active = 0;
    let maxActive = 0;
    const task = (name: string) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${name}`);
      active--;
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c'].map((n) => q.run(task(n))));
    expect(results).toEqual(['a', 'b', 'c']);
    expect(maxActive).toBe(1);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(q.stats).toMatchObject({ running: false, waiting: 0, completed: 3 });
  });

  it('rejects with QUEUE_FULL past maxQueue', async () => {
    const q = new RequestQueue(1);
    const gate = deferred();
    const first = q.run(() => gate.promise);
    const second = q.run(async () => 'second');
    await expect(q.run(async () => 'third')).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await first;
    expect(await second).toBe('second');
    expect(q.stats.rejectedFull).toBe(1);
  });

  it('removes a request aborted while queued without running it', async () => {
    const q = new RequestQueue(4);
    const gate = deferred();
    const first = q.run(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const queued = q.run(async () => void (ran = true), controller.signal);
    const third = q.run(async () => 'third');
    controller.abort();
    await expect(queued).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(q.stats.waiting).toBe(1);
    gate.resolve();
    await first;
    expect(await third).toBe('third');
    expect(ran).toBe(false);
  });

  it('keeps going after a task throws', async () => {
    const q = new RequestQueue();
    await expect(q.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await q.run(async () => 1)).toBe(1);
  });
});
