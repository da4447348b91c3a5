import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from './limiter.js';
import { ServeConfigError, ServeError } from './errors.js';

describe('ConcurrencyLimiter', () => {
  it('runs up to maxConcurrent, queues FIFO up to maxQueued, refuses the rest with 429 + Retry-After', async () => {
    const limiter = new ConcurrencyLimiter(2, 2, 3);
    const r1 = await limiter.acquire();
    const r2 = await limiter.acquire();
    const order: string[] = [];
    const q1 = limiter.acquire().then((r) => (order.push('q1'), r));
    const q2 = limiter.acquire().then((r) => (order.push('q2'), r));
    expect([limiter.active, limiter.waiting]).toEqual([2, 2]);
    const refused = await limiter.acquire().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServeError);
    expect(refused).toMatchObject({ status: 429, code: 'overloaded', headers: { 'retry-after': '3' } });
    r1();
    r1(); // releasing twice frees one slot only
    const rq1 = await q1;
    expect(order).toEqual(['q1']);
    expect([limiter.active, limiter.waiting]).toEqual([2, 1]);
    r2();
    await q2;
    rq1();
    expect([limiter.active, limiter.waiting]).toEqual([1, 0]);
  });

  it('drops a waiter whose signal aborts, without losing the slot', async () => {
    const limiter = new ConcurrencyLimiter(1, 4, 1);
    const release = await limiter.acquire();
    const controller = new AbortController();
    const gone = limiter.acquire(controller.signal).catch((e: unknown) => e);
    const next = limiter.acquire();
    controller.abort(new Error('client left'));
    expect(((await gone) as Error).message).toBe('client left');
    expect(limiter.waiting).toBe(1);
    release();
    (await next)();
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it('rejects nonsense limits', () => {
    expect(() => new ConcurrencyLimiter(0, 1, 1)).toThrow(ServeConfigError);
    expect(() => new ConcurrencyLimiter(0, 1, 1)).toThrow(/maxConcurrent must be at least 1/);
    expect(() => new ConcurrencyLimiter(1, -1, 1)).toThrow(/maxQueued must be 0 or more/);
  });
});
