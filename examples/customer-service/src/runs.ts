// Runs that survive a crash. Every tool execution is checkpointed into the shop store (the
// agent's `checkpoint` option) before it starts and when it returns; staff decisions are final
// once recorded; runs that a stopped process left unfinished are completed from their last
// checkpoint without repeating a tool call that had started. With a shared store (PostgreSQL),
// a run belongs to the replica that holds its lease: that replica renews it while the run goes
// on, and another replica takes an interrupted run over only once the lease has run out.
import { createHash } from 'node:crypto';
import type { Agent, AgentResult, RunState } from '@lookout/core';
import type { PendingApprovalRow, ShopStore } from './store/types.js';
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

export interface DurableRunsOptions {
  logError?: (message: string, error: unknown) => void;
  /** With a shared store: how often leases are renewed and interrupted runs looked for (ms). Default 10 s and 30 s. */
  renewEveryMs?: number;
  sweepEveryMs?: number;
}

export class DurableRuns {
  /** Runs this process is continuing right now: their leases are renewed, and recovery leaves them alone. */
  private readonly active = new Set<string>();
  private readonly logError: (message: string, error: unknown) => void;
  private timers: NodeJS.Timeout[] = [];
  private sweeping?: Promise<RecoveryReport>;

  constructor(
    private readonly agent: Agent<ShopContext>,
    private readonly db: ShopStore,
    private readonly options: DurableRunsOptions = {},
  ) {
    this.logError = options.logError ?? ((m, e) => console.error(m, e));
  }

  /** The agent's `checkpoint` option for a run of this conversation. */
  checkpointFor(sessionKey: string, customerId: string, approvalId?: string): (state: RunState) => Promise<void> {
    return async (state) => {
      this.active.add(state.runId);
      await this.db.saveCheckpoint({ runId: state.runId, sessionKey, customerId, approvalId, state: JSON.stringify(state) });
    };
  }

  /** A run paused again for approval: queue it for staff (once per paused call). */
  async queueApproval(result: AgentResult, sessionKey: string, customerId: string): Promise<void> {
    if (result.status !== 'awaiting-approval' || !result.state || !result.pendingApproval) return;
    await this.db.addApproval({
      id: approvalIdFor(result.state, result.pendingApproval.toolCallId),
      runId: result.state.runId,
      sessionId: sessionKey,
      customerId,
      tool: result.pendingApproval.name,
      arguments: result.pendingApproval.arguments,
      state: JSON.stringify(result.state),
    });
  }

  /** The run is over here (stored, or queued again): its checkpoint and lease have done their job. */
  async forget(runId: string): Promise<void> {
    this.active.delete(runId);
    await this.db.deleteCheckpoint(runId);
  }

  /**
   * Continues the paused run of an approval whose decision `decideApproval` recorded (which gave
   * this process the run). Whatever happens the decision stays final: a failure marks the run
   * failed (the agent stored the turn as an error, with any tool result) and never puts the
   * approval back to pending.
   */
  async decide(approval: PendingApprovalRow): Promise<AgentResult> {
    const state = JSON.parse(approval.state) as RunState;
    this.active.add(state.runId);
    return this.finish(approval, state, (context, checkpoint) =>
      approval.status === 'approved'
        ? this.agent.resume(state, { approve: true, context, checkpoint })
        : this.agent.resume(state, { reject: approval.note ?? DEFAULT_REJECT_REASON, context, checkpoint }),
    );
  }

  /**
   * Finishes every run a stopped process left behind: at start-up, and with a shared store
   * periodically (see start). A run that a live process holds, or that this one is continuing,
   * is left alone.
   */
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
    // A run is taken only when no live process holds it; once taken it is this process's until it is over.
    const take = async (runId: string) => {
      if (this.active.has(runId) || !(await this.db.takeRun(runId))) return false;
      this.active.add(runId);
      return true;
    };
    // Runs that had started a tool: continue from the last checkpoint.
    for (const cp of await this.db.checkpoints()) {
      if (cp.approvalId) done.add(cp.approvalId);
      if (!(await take(cp.runId))) continue;
      const state = JSON.parse(cp.state) as RunState;
      const approval = cp.approvalId ? await this.db.approval(cp.approvalId) : undefined;
      await count(async () => {
        if (await this.stored(cp.sessionKey, state)) {
          if (approval) await this.db.finishApprovalRun(approval.id, 'done');
          await this.forget(state.runId);
          return 'alreadyStored';
        }
        const owner = approval ?? { id: undefined, sessionId: cp.sessionKey, customerId: cp.customerId };
        await this.finish(owner, state, (context, checkpoint) => this.agent.recover(state, { context, checkpoint }));
        return 'recovered';
      });
      // Failed before it could finish (e.g. the database was away): the lease runs out and a later pass tries again.
      this.active.delete(cp.runId);
    }
    // Decisions recorded before any tool started: continue from the paused state.
    for (const approval of await this.db.runningApprovals()) {
      if (done.has(approval.id) || !(await take(approval.runId))) continue;
      const state = JSON.parse(approval.state) as RunState;
      await count(async () => {
        if (await this.stored(approval.sessionId, state)) {
          await this.db.finishApprovalRun(approval.id, 'done');
          await this.forget(state.runId);
          return 'alreadyStored';
        }
        await this.decide(approval);
        return 'recovered';
      });
      this.active.delete(approval.runId);
    }
    return report;
  }

  /**
   * With a shared store: renews the leases of the runs continued here, and picks up runs whose
   * process stopped (their lease ran out) while this one serves. Nothing to do for SQLite: one
   * process, recovered at start-up.
   */
  start(): void {
    if (!this.db.shared || this.timers.length > 0) return;
    const renew = setInterval(() => {
      this.db.renewRuns([...this.active]).catch((error) => this.logError('customer-service: renewing run leases failed:', error));
    }, this.options.renewEveryMs ?? 10_000);
    const sweep = setInterval(() => {
      this.sweeping ??= this.recoverAll().finally(() => (this.sweeping = undefined));
      this.sweeping.catch((error) => this.logError('customer-service: looking for interrupted runs failed:', error));
    }, this.options.sweepEveryMs ?? 30_000);
    renew.unref();
    sweep.unref();
    this.timers = [renew, sweep];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.sweeping?.catch(() => {});
  }

  private async finish(
    owner: { id?: string; sessionId: string; customerId: string },
    state: RunState,
    run: (context: ShopContext, checkpoint: (state: RunState) => Promise<void>) => Promise<AgentResult>,
  ): Promise<AgentResult> {
    const context: ShopContext = { customerId: owner.customerId, sessionId: owner.sessionId };
    try {
      const result = await run(context, this.checkpointFor(owner.sessionId, owner.customerId, owner.id));
      await this.queueApproval(result, owner.sessionId, owner.customerId);
      if (owner.id) await this.db.finishApprovalRun(owner.id, 'done');
      return result;
    } catch (error) {
      if (owner.id) await this.db.finishApprovalRun(owner.id, 'failed').catch((e) => this.logError('customer-service: recording a failed run failed:', e));
      throw error;
    } finally {
      await this.forget(state.runId).catch((e) => this.logError('customer-service: clearing a finished run failed:', e));
    }
  }

  private async stored(sessionKey: string, state: RunState): Promise<boolean> {
    const { turns } = await this.agent.sessions.load(sessionKey);
    return turns.some((t) => t.turnId === state.turnId);
  }
}
