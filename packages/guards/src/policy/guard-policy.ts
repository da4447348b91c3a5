import { applyRedactions } from '../compose/redactions.js';
import { composeGuards, type ComposedGuardEntry } from '../compose/compose-guards.js';
import { GuardConfigError } from '../errors.js';
import type { Guard, GuardCheckOptions, GuardSubject, Stage, Verdict } from '../types.js';
import { cachedGuard, VerdictCache, type VerdictCacheOptions } from './cached-guard.js';

/** What happens to content whose verdict is unsafe at a stage. */
export type StageAction =
  | { action: 'block'; refusal?: string }
  /** Replace the offending spans; a verdict without spans (e.g. Llama Guard) still blocks. */
  | { action: 'redact'; refusal?: string }
  /** Let it through and record the verdict. */
  | { action: 'warn' };

export const STAGES: readonly Stage[] = ['input', 'output', 'tool-call', 'tool-result'];

const MAX_REDACT_ROUNDS = 4;

export const DEFAULT_REFUSAL = "Sorry, I can't help with that.";

export interface GuardPolicyOptions {
  /** Guards per stage; a stage with none lets everything through. */
  guards: Partial<Record<Stage, Array<Guard | ComposedGuardEntry>>>;
  /** Action per stage. Default `{ action: 'block' }` everywhere. */
  actions?: Partial<Record<Stage, StageAction>>;
  /** Per-guard time limit. Default 15000 ms; a guard model that is slow blocks (fail-closed). */
  timeoutMs?: number;
  /** Verdict cache shared by all stages; `false` turns it off. Default: a new cache of 1000 entries. */
  cache?: VerdictCache | VerdictCacheOptions | false;
  /** Refusal text used where a stage's action gives none. */
  refusal?: string;
}

export type PolicyOutcome = 'allow' | 'block' | 'redact' | 'warn';

export interface PolicyDecision {
  stage: Stage;
  outcome: PolicyOutcome;
  verdict: Verdict;
  /** What may be released: the original text, the redacted text, or the refusal when blocked. */
  text: string;
  /** Set when outcome is 'block'. */
  refusal?: string;
}

/** Per-stage guards, actions and a shared verdict cache: the one object the agent loop asks. */
export class GuardPolicy {
  readonly cache?: VerdictCache;
  private readonly stageGuards = new Map<Stage, Guard>();
  private readonly actions: Record<Stage, StageAction>;
  private readonly refusal: string;

  constructor(options: GuardPolicyOptions) {
    this.cache =
      options.cache === false ? undefined : options.cache instanceof VerdictCache ? options.cache : new VerdictCache(options.cache ?? {});
    this.refusal = options.refusal ?? DEFAULT_REFUSAL;
    this.actions = { input: { action: 'block' }, output: { action: 'block' }, 'tool-call': { action: 'block' }, 'tool-result': { action: 'block' } };
    for (const [stage, action] of Object.entries(options.actions ?? {}) as Array<[Stage, StageAction]>) {
      if (!STAGES.includes(stage)) throw new GuardConfigError(`unknown stage "${stage}"; accepted: ${STAGES.join(', ')}`);
      if (!['block', 'redact', 'warn'].includes(action?.action)) {
        throw new GuardConfigError(`action for stage "${stage}" must be block, redact or warn; got ${JSON.stringify(action)}`);
      }
      this.actions[stage] = action;
    }
    for (const [stage, members] of Object.entries(options.guards) as Array<[Stage, Array<Guard | ComposedGuardEntry>]>) {
      if (!STAGES.includes(stage)) throw new GuardConfigError(`unknown stage "${stage}"; accepted: ${STAGES.join(', ')}`);
      if (!members?.length) continue;
      const cache = this.cache;
      const wrapped = members.map((m) => {
        const entry: ComposedGuardEntry = 'check' in m ? { guard: m } : m;
        return cache ? { ...entry, guard: cachedGuard(entry.guard, cache) } : entry;
      });
      this.stageGuards.set(stage, composeGuards(wrapped, { name: `${stage}-guards`, timeoutMs: options.timeoutMs ?? 15_000 }));
    }
  }

  /** Checks the subject with its stage's guards and applies the stage's action. */
  async evaluate(subject: GuardSubject, options: GuardCheckOptions = {}): Promise<PolicyDecision> {
    const stage = subject.stage;
    const guard = this.stageGuards.get(stage);
    const original = subject.content.text;
    if (!guard) {
      return { stage, outcome: 'allow', text: original, verdict: { safe: true, categories: [], guard: 'none', latencyMs: 0, reason: `no guards for stage ${stage}` } };
    }
    const verdict = await guard.check(subject, options);
    if (verdict.safe) {
      const redacted = verdict.redactedText !== undefined && verdict.redactedText !== original;
      return { stage, outcome: redacted ? 'redact' : 'allow', verdict, text: redacted ? verdict.redactedText! : original };
    }
    const action = this.actions[stage];
    if (action.action === 'warn') return { stage, outcome: 'warn', verdict, text: original };
    const refusal = action.refusal ?? this.refusal;
    if (action.action === 'redact') {
      // The first unsafe verdict wins a composition, so other guards' findings may be missing:
      // re-check the redacted text until it passes (or nothing more can be redacted).
      let current = verdict;
      let text = original;
      for (let round = 0; round < MAX_REDACT_ROUNDS && current.redactions?.length && !current.failure; round++) {
        text = applyRedactions(text, current.redactions);
        const next = await guard.check({ ...subject, content: { ...subject.content, text } }, options);
        if (next.safe) {
          const final = next.redactedText ?? text;
          return { stage, outcome: 'redact', verdict: { ...verdict, reason: `${verdict.reason ?? 'unsafe'}; redacted` }, text: final };
        }
        current = next;
      }
    }
    return { stage, outcome: 'block', verdict, text: refusal, refusal };
  }
}
