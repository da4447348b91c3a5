/**
 * A push-to-pull bridge: the generation loop pushes events, the caller iterates them. Unbounded
 * on purpose: events are small and a generation is bounded by maxTokens.
 */
export class EventChannel<T> implements AsyncIterable<T> {
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
