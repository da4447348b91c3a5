/**
 * Request/reply over a worker thread, shared by every worker the packages run (the engine
 * worker, the image worker, Prompt Guard's classifier). The main thread numbers its requests and
 * keeps each one's promise until the reply with that id arrives; the worker answers with the
 * handler's value (buffers moved, not copied) or with the error, sent as name/code/message and
 * rebuilt as the caller's own error class on the main thread. A worker that dies fails every
 * request still waiting.
 */
import type { MessagePort, Transferable, Worker } from 'node:worker_threads';

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

/** The worker's answer to request `id`. */
export type Reply<T> = { type: 'reply'; id: number; ok: true; value: T } | { type: 'reply'; id: number; ok: false; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(error) };
}

export function isReply(message: unknown): message is Reply<unknown> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'reply';
}

// ---- worker side ----

/** Answers request `id` with `value`; the buffers in `transfer` are moved to the main thread. */
export function postReply<T>(port: MessagePort, id: number, value: T, transfer: readonly Transferable[] = []): void {
  port.postMessage({ type: 'reply', id, ok: true, value } satisfies Reply<T>, transfer);
}

/** Answers request `id` with an error (rebuilt on the main thread by PendingRequests.settle's caller). */
export function postError(port: MessagePort, id: number, error: unknown): void {
  port.postMessage({ type: 'reply', id, ok: false, error: serializeError(error) } satisfies Reply<never>);
}

/** What a request handler answers: the value and the buffers to move with it. */
export interface Answer<T> {
  value: T;
  transfer?: readonly Transferable[];
}

/** Serves a worker whose every message is a request with an id and gets exactly one reply. */
export function answerRequests<Req extends { id: number }, T>(port: MessagePort, handle: (request: Req) => Answer<T> | Promise<Answer<T>>): void {
  port.on('message', async (request: Req) => {
    try {
      const { value, transfer } = await handle(request);
      postReply(port, request.id, value, transfer);
    } catch (error) {
      postError(port, request.id, error);
    }
  });
}

// ---- main-thread side ----

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The requests sent to one worker that wait for their replies. `onBusy` runs when the first
 * request starts waiting and `onIdle` when the last one is settled (e.g. to ref the worker only
 * while it has work, so an idle worker does not keep the process alive).
 */
export class PendingRequests<T> {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter<T>>();

  constructor(private readonly hooks: { onBusy?: () => void; onIdle?: () => void } = {}) {}

  get size(): number {
    return this.waiting.size;
  }

  /** A fresh request id. */
  newId(): number {
    return this.nextId++;
  }

  /** Sends a request under a fresh id (`post` posts it) and waits for its reply. */
  send(post: (id: number) => void): Promise<T> {
    const id = this.newId();
    return new Promise<T>((resolve, reject) => {
      this.wait(id, { resolve, reject });
      try {
        post(id);
      } catch (error) {
        this.reject(id, error);
      }
    });
  }

  /** Waits for request `id`'s reply (for requests sent under an id from newId()). */
  wait(id: number, waiter: Waiter<T>): void {
    if (this.waiting.size === 0) this.hooks.onBusy?.();
    this.waiting.set(id, waiter);
  }

  /** Settles a request from its reply; `toError` rebuilds a worker-side error. False for an unknown id. */
  settle(reply: Reply<T>, toError: (error: SerializedError) => unknown): boolean {
    return reply.ok ? this.resolve(reply.id, reply.value) : this.reject(reply.id, toError(reply.error));
  }

  resolve(id: number, value: T): boolean {
    const waiter = this.take(id);
    waiter?.resolve(value);
    return waiter !== undefined;
  }

  reject(id: number, error: unknown): boolean {
    const waiter = this.take(id);
    waiter?.reject(error);
    return waiter !== undefined;
  }

  /** Stops waiting for request `id` without settling it (its result came by other means). */
  forget(id: number): void {
    this.take(id);
  }

  /** Fails every waiting request (the worker died or was closed). */
  failAll(error: unknown): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiters) waiter.reject(error);
    if (waiters.length > 0) this.hooks.onIdle?.();
  }

  private take(id: number): Waiter<T> | undefined {
    const waiter = this.waiting.get(id);
    if (!waiter) return undefined;
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.hooks.onIdle?.();
    return waiter;
  }
}

/**
 * A worker's first message (its "ready" or its load error, as the caller reads it). Rejects with
 * `failure`'s error when the worker crashes or exits before saying anything.
 */
export function firstMessage<M>(worker: Worker, failure: { crashed(error: Error): Error; exited(code: number): Error }): Promise<M> {
  return new Promise<M>((resolve, reject) => {
    const onExit = (code: number) => {
      worker.off('error', onError);
      worker.off('message', onMessage);
      reject(failure.exited(code));
    };
    const onError = (error: Error) => {
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      reject(failure.crashed(error));
    };
    const onMessage = (message: M) => {
      worker.off('exit', onExit);
      worker.off('error', onError);
      resolve(message);
    };
    worker.once('exit', onExit);
    worker.once('error', onError);
    worker.once('message', onMessage);
  });
}
