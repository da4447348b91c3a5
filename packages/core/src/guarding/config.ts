import type { Guard, Stage } from '@lookout/guards';

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

export function resolveGuards(settings: GuardSetting[] | undefined, defaultTimeoutMs: number): ResolvedGuard[] {
  return (settings ?? []).map((s) => {
    const entry: GuardEntry = 'check' in s ? { guard: s } : s;
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
