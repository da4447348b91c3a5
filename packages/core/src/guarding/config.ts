import type { Guard, Stage } from '@lookout/guards';
import { InvalidAgentInput } from '../errors.js';

/** What the loop does with an unsafe verdict from a guard. */
export type GuardAction = 'block' | 'redact' | 'warn';

/** A guard with the loop's per-guard settings. */
export interface GuardEntry {
  guard: Guard;
  /** Per-guard time limit; defaults to the agent's guardTimeoutMs. */
  timeoutMs?: number;
  /** When the guard throws or times out, pass the content instead of blocking it. Default false. */
  failOpen?: boolean;
  /** Default 'block'. 'redact' uses the verdict's redactedText; 'warn' only emits the verdict. */
  action?: GuardAction;
}

export type GuardSetting = Guard | GuardEntry;

/** Guards per stage of the loop; each stage's guards run in parallel. */
export interface StageGuards {
  input?: GuardSetting[];
  output?: GuardSetting[];
  toolCall?: GuardSetting[];
  toolResult?: GuardSetting[];
}

export interface ResolvedGuard {
  guard: Guard;
  timeoutMs: number;
  failOpen: boolean;
  action: GuardAction;
}

export function resolveGuards(settings: GuardSetting[] | undefined, defaultTimeoutMs: number, stage = 'guards'): ResolvedGuard[] {
  if (settings !== undefined && !Array.isArray(settings)) {
    throw new InvalidAgentInput(`guards.${stage} must be an array of guards or { guard, timeoutMs?, failOpen?, action? } entries.`);
  }
  return (settings ?? []).map((s, i) => {
    const entry: GuardEntry | undefined = s && typeof (s as Guard).check === 'function' ? { guard: s as Guard } : (s as GuardEntry);
    if (!entry || typeof entry.guard?.check !== 'function' || typeof entry.guard.name !== 'string') {
      throw new InvalidAgentInput(`guards.${stage}[${i}] is not a Guard (an object with name and check()) or a { guard } entry.`);
    }
    if (entry.action !== undefined && !['block', 'redact', 'warn'].includes(entry.action)) {
      throw new InvalidAgentInput(`guards.${stage}[${i}].action is "${entry.action}"; accepted: "block", "redact", "warn".`);
    }
    if (entry.timeoutMs !== undefined && !(entry.timeoutMs > 0)) {
      throw new InvalidAgentInput(`guards.${stage}[${i}].timeoutMs must be a positive number of milliseconds, got ${entry.timeoutMs}.`);
    }
    return {
      guard: entry.guard,
      timeoutMs: entry.timeoutMs ?? defaultTimeoutMs,
      failOpen: entry.failOpen ?? false,
      action: entry.action ?? 'block',
    };
  });
}

export const STAGE_KEYS: Record<Stage, keyof StageGuards> = {
  input: 'input',
  output: 'output',
  'tool-call': 'toolCall',
  'tool-result': 'toolResult',
};
