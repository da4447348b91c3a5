// Runs that survive a crash. Every tool execution is checkpointed into SQLite (the agent's
// `checkpoint` option) before it starts and when it returns; staff decisions are final once
// recorded; at start-up, runs that a stopped process left unfinished are completed from their
// last checkpoint without repeating a tool call that had started.
import { createHash } from 'node:crypto';
import type { Agent, AgentResult, RunState } from '@lookout/core';
import type { PendingApprovalRow, ShopDb } from './db.js';
import type { ShopContext } from './tools.js';

export interface RecoveryReport {
  /** Runs completed from a checkpoint or a recorded decision. */
  recovered: number;
  /** Runs whose turn was already stored (the process stopped just after): only marked done. */
  alreadyStored: number;
  /** Runs that failed again; each is stored as an error turn and never retried. */
  failed: number;
}

const DEFAULT_REJECT_REASON = 'a member of staff declined the refund';

/** One approval per paused tool call: the same pause seen twice (a recovery) names the same row. */
export const approvalIdFor = (state: RunState, toolCallId: string) =>
  createHash('sha256').update(`${state.runId}:${toolCallId}`).digest('hex').slice(0, 32);

export class DurableRuns {
  constructor(
    private readonly agent: Agent<ShopContext>,
    private readonly db: ShopDb,
    private readonly logError: (message: string, error: unknown) => void = (m, e) => console.error(m, e),
  ) {}

  /** The agent's `checkpoint` option for a run of this conversation. */
  checkpointFor(sessionKey: string, customerId: string, approvalId?: string): (state: RunState) => void {
    return (state) => this.db.saveCheckpoint({ runId: state.runId, sessionKey, customerId, approvalId, state: JSON.stringify(state) });
  }

  /** A run paused again for approval: queue it for staff (once per paused call). */
  queueApproval(result: AgentResult, sessionKey: string, customerId: string): void {
    if (result.status !== 'awaiting-approval' || !result.state || !result.pendingApproval) return;
    this.db.addApproval({
      id: approvalIdFor(result.state, result.pendingApproval.toolCallId),
      sessionId: sessionKey,
      customerId,
      tool: result.pendingApproval.name,
      arguments: result.pendingApproval.arguments,
      state: JSON.stringify(result.state),
    });
  }

  /** The run is over (stored, or queued again): its checkpoint has done its job. */
  forget(runId: string): void {
    this.db.deleteCheckpoint(runId);
  }

  /**
   * Continues the paused run of an approval whose decision `decideApproval` recorded. Whatever
   * happens the decision stays final: a failure marks the run failed (the agent stored the turn
   * as an error, with any tool result) and never puts the approval back to pending.
   */
  async decide(approval: PendingApprovalRow): Promise<AgentResult> {
    const state = JSON.parse(approval.state) as RunState;
    return this.finish(approval, state, (context, checkpoint) =>
      approval.status === 'approved'
        ? this.agent.resume(state, { approve: true, context, checkpoint })
        : this.agent.resume(state, { reject: approval.note ?? DEFAULT_REJECT_REASON, context, checkpoint }),
    );
  }

  /** At start-up: finishes every run a stopped process left behind. */
  async recoverAll(): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: 0, alreadyStored: 0, failed: 0 };
    const done = new Set<string>();
    const count = async (run: () => Promise<'recovered' | 'alreadyStored'>) => {
      try {
        report[await run()] += 1;
      } catch (error) {
        report.failed += 1;
        this.logError('customer-service: an interrupted run failed again while it was recovered:', error);
      }
    };
    // Runs that had started a tool: continue from the last checkpoint.
    for (const cp of this.db.checkpoints()) {
      const state = JSON.parse(cp.state) as RunState;
      const approval = cp.approvalId ? this.db.approval(cp.approvalId) : undefined;
      if (approval) done.add(approval.id);
      await count(async () => {
        if (await this.stored(cp.sessionKey, state)) {
          if (approval) this.db.finishApprovalRun(approval.id, 'done');
          this.forget(state.runId);
          return 'alreadyStored';
        }
        const owner = approval ?? { id: undefined, sessionId: cp.sessionKey, customerId: cp.customerId };
        await this.finish(owner, state, (context, checkpoint) => this.agent.recover(state, { context, checkpoint }));
        return 'recovered';
      });
    }
    // Decisions recorded before any tool started: continue from the paused state.
    for (const approval of this.db.runningApprovals()) {
      if (done.has(approval.id)) continue;
      const state = JSON.parse(approval.state) as RunState;
      await count(async () => {
        if (await this.stored(approval.sessionId, state)) {
          this.db.finishApprovalRun(approval.id, 'done');
          return 'alreadyStored';
        }
        await this.decide(approval);
        return 'recovered';
      });
    }
    return report;
  }

  private async finish(
    owner: { id?: string; sessionId: string; customerId: string },
    state: RunState,
    run: (context: ShopContext, checkpoint: (state: RunState) => void) => Promise<AgentResult>,
  ): Promise<AgentResult> {
    const context: ShopContext = { customerId: owner.customerId, sessionId: owner.sessionId };
    try {
      const result = await run(context, this.checkpointFor(owner.sessionId, owner.customerId, owner.id));
      this.queueApproval(result, owner.sessionId, owner.customerId);
      if (owner.id) this.db.finishApprovalRun(owner.id, 'done');
      return result;
    } catch (error) {
      if (owner.id) this.db.finishApprovalRun(owner.id, 'failed');
      throw error;
    } finally {
      this.forget(state.runId);
    }
  }

  private async stored(sessionKey: string, state: RunState): Promise<boolean> {
    const { turns } = await this.agent.sessions.load(sessionKey);
    return turns.some((t) => t.turnId === state.turnId);
  }
}
