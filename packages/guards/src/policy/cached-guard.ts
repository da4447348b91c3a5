import type { Guard, GuardCheckOptions, GuardSubject, Verdict } from '../types.js';
import { subjectHash } from './content-hash.js';
import { LruCache } from './lru-cache.js';

export interface VerdictCacheOptions {
  /** Most verdicts kept (least recently used evicted). Default 1000. */
  maxEntries?: number;
}

/** Shared bounded verdict store; one per run (agent session) so verdicts never outlive it. */
export class VerdictCache {
  readonly lru: LruCache<string, Promise<Verdict>>;
  constructor(options: VerdictCacheOptions = {}) {
    this.lru = new LruCache(options.maxEntries ?? 1000);
  }
  get stats(): { hits: number; misses: number; size: number } {
    return { hits: this.lru.hits, misses: this.lru.misses, size: this.lru.size };
  }
}

/**
 * Wraps a guard so identical content (same guard, stage, conversation, text, images) is
 * classified once. Concurrent identical checks share one in-flight call. Failure verdicts
 * (timeouts, errors, nonsense answers) and thrown errors are not kept: the next check retries.
 */
export function cachedGuard(guard: Guard, cache: VerdictCache): Guard {
  return {
    name: guard.name,
    async check(subject: GuardSubject, options?: GuardCheckOptions): Promise<Verdict> {
      const key = subjectHash(guard.name, subject);
      const hit = cache.lru.get(key);
      if (hit) {
        const started = performance.now();
        try {
          const verdict = await hit;
          return { ...verdict, latencyMs: performance.now() - started, reason: appendReason(verdict.reason, 'cached verdict') };
        } catch (error) {
          // The shared call failed (perhaps aborted by its own caller): classify afresh unless we were aborted too.
          if (options?.signal?.aborted) throw error;
        }
      }
      const pending = guard.check(subject, options);
      cache.lru.set(key, pending);
      try {
        const verdict = await pending;
        if (verdict.failure) forget(cache, key, pending);
        return verdict;
      } catch (error) {
        forget(cache, key, pending);
        throw error;
      }
    },
  };
}

function forget(cache: VerdictCache, key: string, pending: Promise<Verdict>): void {
  // Only drop our own entry; a newer call may have replaced it.
  if (cache.lru.peek(key) === pending) cache.lru.delete(key);
}

function appendReason(reason: string | undefined, note: string): string {
  return reason ? `${reason} (${note})` : note;
}
