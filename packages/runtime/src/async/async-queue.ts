/**
 * A push-to-pull bridge: a producer (the generation loop, the agent loop) pushes events, the
 * consumer iterates them in order. Unbounded on purpose: events are small and their number is
 * bounded by the producer (maxTokens, maxSteps). The one queue of this kind in Lookout.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private waiting?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private done = false;
  private error: unknown;
  private failed = false;

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value, done: false });
    } else this.buffer.push(value);
  }

  close(): void {
    this.done = true;
    this.settleWaiter();
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.failed = true;
    this.error = error;
    this.done = true;
    this.settleWaiter();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.buffer.length > 0) {
        yield this.buffer.shift()!;
        continue;
      }
      if (this.done) {
        if (this.failed) throw this.error;
        return;
      }
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => (this.waiting = { resolve, reject }));
      if (next.done) {
        if (this.failed) throw this.error;
        return;
      }
      yield next.value;
    }
  }

  private settleWaiter(): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    if (this.failed) w.reject(this.error);
    else w.resolve({ value: undefined, done: true });
  }
}
