import { VerdictCache, type GuardSubject, type Stage } from '@lookout/guards';
import type { Context } from '@opentelemetry/api';
import { RunAborted } from '../errors.js';
import type { ResolvedGuard } from '../guarding/config.js';
import { publicVerdict } from '../guarding/public-verdict.js';
import { withRunCache } from '../guarding/run-cache.js';
import { runStage, type StageDecision } from '../guarding/run-stage.js';
import type { TurnScope } from './turn-scope.js';

/**
 * Runs one stage's guards for a turn: every verdict goes out as a 'guard-verdict' event and
 * into the audit; identical content is classified once per run (the run's verdict cache).
 */
export class GuardStage {
  private readonly guards: Record<Stage, ResolvedGuard[]>;

  constructor(private readonly scope: TurnScope) {
    const { settings } = scope;
    this.guards = settings.verdictCacheEntries > 0 ? withRunCache(settings.guards, new VerdictCache({ maxEntries: settings.verdictCacheEntries })) : settings.guards;
  }

  async check(stage: Stage, subject: GuardSubject, parent: Context, toolCallId?: string): Promise<StageDecision> {
    const { scope } = this;
    const signal = scope.run.signal;
    const outcome = await runStage(this.guards[stage], subject, {
      signal,
      traceContext: parent,
      onVerdict: ({ verdict: raw, action }) => {
        const verdict = publicVerdict(stage, raw);
        scope.emit({
          type: 'guard-verdict',
          stage,
          action,
          guard: verdict.guard,
          safe: verdict.safe,
          categories: verdict.categories,
          ...(verdict.score !== undefined ? { score: verdict.score } : {}),
          latencyMs: verdict.latencyMs,
          ...(verdict.failure ? { failure: verdict.failure } : {}),
          verdict,
          ...(toolCallId ? { toolCallId } : {}),
        });
        scope.audit({
          kind: 'verdict',
          time: new Date().toISOString(),
          runId: scope.state.runId,
          stage,
          guard: verdict.guard,
          safe: verdict.safe,
          categories: verdict.categories,
          ...(verdict.score !== undefined ? { score: verdict.score } : {}),
          latencyMs: verdict.latencyMs,
          action,
          ...(verdict.failure ? { failure: verdict.failure, ...(verdict.reason ? { reason: verdict.reason } : {}) } : {}),
          ...(toolCallId ? { toolCallId } : {}),
        });
      },
    });
    // Guards aborted with the run answer fail-closed; that is a cancellation, not a verdict.
    if (signal?.aborted) throw new RunAborted(signal.reason);
    const { decision } = outcome;
    return decision.kind === 'pass' ? decision : { ...decision, verdict: publicVerdict(stage, decision.verdict) };
  }
}
