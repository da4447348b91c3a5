import { ServeConfigError, ServeError } from './errors.js';

/**
 * Admission control: at most `maxConcurrent` requests run, at most `maxQueued` wait in FIFO
 * order; anything beyond is refused at once with 429 + Retry-After so clients back off instead
 * of piling up on a GPU that is already busy.
 */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly queue: Array<{ resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }> = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
    private readonly retryAfterSeconds: number,
  ) {
    if (!(maxConcurrent >= 1)) throw new ServeConfigError(`maxConcurrent must be at least 1, got ${maxConcurrent}`);
    if (!(maxQueued >= 0)) throw new ServeConfigError(`maxQueued must be 0 or more, got ${maxQueued}`);
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a release function once a slot is free; rejects with 429 when the queue is full. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return this.releaser();
    }
    if (this.queue.length >= this.maxQueued)
      throw new ServeError(429, 'overloaded', `server is busy: ${this.running} requests running and ${this.queue.length} queued; retry after ${this.retryAfterSeconds} s`, {
        'retry-after': String(this.retryAfterSeconds),
      });
    await new Promise<void>((resolve, reject) => {
      const entry: (typeof this.queue)[number] = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.queue.push(entry);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) {
        // The slot passes straight to the next waiter: `running` stays the same.
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve();
      } else this.running--;
    };
  }
}
