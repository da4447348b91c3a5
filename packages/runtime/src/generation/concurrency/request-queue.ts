/**
 * One generation at a time per model, first come first served. A model's engine holds one KV
 * cache and its forward passes serialise anyway, so queueing keeps latency predictable; the
 * queue is bounded, and a request aborted while waiting leaves without ever touching the model.
 */
import { GenerationAbortedError, QueueFullError } from '../errors.js';

interface Waiter {
  start: () => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface RequestQueueStats {
  running: boolean;
  waiting: number;
  completed: number;
  rejectedFull: number;
  abortedWhileQueued: number;
}

export class RequestQueue {
  private running = false;
  private readonly waiting: Waiter[] = [];
  private readonly counters = { completed: 0, rejectedFull: 0, abortedWhileQueued: 0 };

  /** maxQueue: requests allowed to wait behind the running one (0 = reject when busy). */
  constructor(readonly maxQueue = 16) {
    if (!Number.isInteger(maxQueue) || maxQueue < 0)
      throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }

  get stats(): RequestQueueStats {
    return { running: this.running, waiting: this.waiting.length, ...this.counters };
  }

  /** Runs `task` when every earlier request has finished. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new GenerationAbortedError();
    if (this.running) await this.wait(signal);
    else this.running = true;
    try {
      return await task();
    } finally {
      this.counters.completed++;
      this.next();
    }
  }

  private wait(signal?: AbortSignal): Promise<void> {
    if (this.waiting.length >= this.maxQueue) {
      this.counters.rejectedFull++;
      return Promise.reject(new QueueFullError(this.maxQueue));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { start: resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.waiting.indexOf(waiter);
          if (at === -1) return;
          this.waiting.splice(at, 1);
          this.counters.abortedWhileQueued++;
          reject(new GenerationAbortedError('The request was aborted while waiting in the model queue.'));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
    });
  }

  /** Hands the model to the next waiter (running stays true) or marks it idle. */
  private next(): void {
    const waiter = this.waiting.shift();
    if (!waiter) {
      this.running = false;
      return;
    }
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.start();
  }
}
