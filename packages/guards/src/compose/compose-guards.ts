import { GuardAbortError, GuardConfigError } from '../errors.js';
import type { Guard, GuardCheckOptions, GuardSubject, Redaction, Verdict } from '../types.js';
import { childController } from './abort.js';
import { applyRedactions } from './redactions.js';
import { runGuarded } from './run-guarded.js';

/** A member of a composition with its own failure settings. */
export interface ComposedGuardEntry {
  guard: Guard;
  /** Overrides the composition's timeoutMs for this guard. */
  timeoutMs?: number;
  /** Let content through when this guard fails. Default false (fail-closed). */
  failOpen?: boolean;
}

export interface ComposeOptions {
  /** Name of the composed guard in verdicts. Default "composite". */
  name?: string;
  /** Per-guard time limit in ms (each guard may override it). Unlimited when absent. */
  timeoutMs?: number;
}

/**
 * Runs several guards in parallel over the same subject. The first unsafe verdict wins: the
 * others are aborted and the composed verdict is returned at once. When every guard says safe,
 * the composed verdict is safe, carries the highest score and merges redactions.
 * A guard that throws or times out counts as unsafe unless its entry says `failOpen`.
 */
export function composeGuards(members: Array<Guard | ComposedGuardEntry>, options: ComposeOptions = {}): Guard {
  const entries: ComposedGuardEntry[] = members.map((m) => ('check' in m ? { guard: m } : m));
  if (entries.length === 0) throw new GuardConfigError('composeGuards needs at least one guard; got an empty list');
  for (const e of entries) {
    if (e.timeoutMs !== undefined && !(e.timeoutMs > 0)) {
      throw new GuardConfigError(`timeoutMs of guard "${e.guard.name}" must be a positive number of ms; got ${e.timeoutMs}`);
    }
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
    throw new GuardConfigError(`composeGuards timeoutMs must be a positive number of ms; got ${options.timeoutMs}`);
  }
  const name = options.name ?? 'composite';

  return {
    name,
    async check(subject: GuardSubject, checkOptions: GuardCheckOptions = {}): Promise<Verdict> {
      const started = performance.now();
      const { controller, dispose } = childController(checkOptions.signal);
      const answered: Verdict[] = [];
      try {
        const firstUnsafe = await new Promise<Verdict | undefined>((resolve, reject) => {
          let pending = entries.length;
          for (const entry of entries) {
            runGuarded(entry.guard, subject, {
              timeoutMs: entry.timeoutMs ?? options.timeoutMs,
              failOpen: entry.failOpen,
              signal: controller.signal,
            }).then(
              (verdict) => {
                answered.push(verdict);
                if (!verdict.safe) resolve(verdict);
                if (--pending === 0) resolve(undefined);
              },
              (error: unknown) => {
                // Only our own abort lands here: after a first unsafe verdict (ignored) or the caller's.
                if (checkOptions.signal?.aborted) reject(new GuardAbortError(name));
                else if (!(error instanceof GuardAbortError)) reject(error);
                if (--pending === 0) resolve(undefined);
              },
            );
          }
        });
        const latencyMs = performance.now() - started;
        if (firstUnsafe) {
          controller.abort(new GuardAbortError(name));
          return {
            ...firstUnsafe,
            guard: name,
            latencyMs,
            reason: `${firstUnsafe.guard}: ${firstUnsafe.reason ?? `unsafe (${firstUnsafe.categories.join(', ') || 'no category'})`}`,
            verdicts: [...answered],
          };
        }
        return combineSafe(name, subject, answered, latencyMs);
      } finally {
        dispose();
      }
    },
  };
}

function combineSafe(name: string, subject: GuardSubject, verdicts: Verdict[], latencyMs: number): Verdict {
  const scores = verdicts.map((v) => v.score).filter((s): s is number => s !== undefined);
  const redactions: Redaction[] = verdicts.flatMap((v) => v.redactions ?? []);
  const failures = verdicts.filter((v) => v.failure);
  const verdict: Verdict = {
    safe: true,
    categories: [...new Set(verdicts.flatMap((v) => v.categories))],
    guard: name,
    latencyMs,
    verdicts,
  };
  if (scores.length) verdict.score = Math.max(...scores);
  if (failures.length) {
    verdict.failure = failures[0].failure;
    verdict.reason = failures.map((v) => v.reason).join('; ');
  }
  if (redactions.length) {
    verdict.redactions = redactions;
    verdict.redactedText = applyRedactions(subject.content.text, redactions);
  } else {
    const redacted = verdicts.find((v) => v.redactedText !== undefined);
    if (redacted) verdict.redactedText = redacted.redactedText;
  }
  return verdict;
}
