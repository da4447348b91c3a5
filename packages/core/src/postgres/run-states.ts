import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { InvalidRunState } from '../errors.js';
import type { AgentResult, RunState } from '../agent/types.js';
import { PostgresStoreBase } from './connection.js';
import { ioError } from './session-store.js';

export type RunStateStatus = 'pending' | 'running' | 'ended';

/** A run state as stored, with what became of it. */
export interface StoredRunState {
  runId: string;
  sessionId: string;
  turnId: string;
  status: RunStateStatus;
  /** The tool call awaiting (or given) the decision. */
  toolCallId: string | null;
  tool: string | null;
  decision: 'approved' | 'rejected' | null;
  decidedBy: string | null;
  /** How the run ended ('completed', 'blocked', 'error'), once ended. */
  outcome: string | null;
  state: RunState;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  run_id: string;
  session_id: string;
  turn_id: string;
  status: RunStateStatus;
  tool_call_id: string | null;
  tool: string | null;
  decision: 'approved' | 'rejected' | null;
  decided_by: string | null;
  outcome: string | null;
  state: RunState;
  created_at: Date;
  updated_at: Date;
}

/**
 * Runs paused for approval, and the checkpoints of runs being continued, in PostgreSQL, so an
 * approval given on one replica is continued on whichever replica takes it, exactly once:
 *
 * ```ts
 * if (result.status === 'awaiting-approval') await runs.savePaused(result.state!);
 * // any replica, when staff decide:
 * const state = await runs.claim(runId, { decision: 'approved', by: 'staff-7' });
 * if (!state) return; // decided already (here or elsewhere), or unknown
 * const done = await agent.resume(state, { approve: true, checkpoint: (s) => runs.checkpoint(s) });
 * await runs.finish(done);
 * ```
 *
 * A state moves pending → running (claim: one UPDATE ... WHERE status = 'pending', so one
 * caller wins) → ended, or back to pending when the continued run pauses for another call.
 */
export class PostgresRunStateStore extends PostgresStoreBase {

  /**
   * Stores a state paused for approval (`result.state` of an 'awaiting-approval' result). Saving
   * the same pause again changes nothing; a running run that paused for another call goes back
   * to pending. Resolves false when nothing was saved (the run ended, or it is still pending or
   * running on that same call).
   */
  async savePaused(state: RunState): Promise<boolean> {
    const call = awaitedCall(state);
    await this.ready();
    try {
      const { rowCount } = await this.pool.query(
        `INSERT INTO lookout_run_states (run_id, session_id, turn_id, status, tool_call_id, tool, state)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6::json)
         ON CONFLICT (run_id) DO UPDATE
           SET status = 'pending', tool_call_id = EXCLUDED.tool_call_id, tool = EXCLUDED.tool, state = EXCLUDED.state,
               decision = NULL, decided_by = NULL, updated_at = now()
         WHERE lookout_run_states.status = 'running' AND lookout_run_states.tool_call_id IS DISTINCT FROM EXCLUDED.tool_call_id`,
        [state.runId, state.sessionId, state.turnId, call.id, call.name, JSON.stringify(state)],
      );
      return rowCount === 1;
    } catch (error) {
      throw ioError(`Cannot save paused run ${state.runId} in PostgreSQL`, error);
    }
  }

  /**
   * Takes a pending state for a decision, once: of all callers on all replicas, one gets the
   * state (now 'running') and every other gets null. Pass the state to `agent.resume` with the
   * same decision.
   */
  async claim(runId: string, decision: { decision: 'approved' | 'rejected'; by?: string }): Promise<RunState | null> {
    if (decision?.decision !== 'approved' && decision?.decision !== 'rejected') {
      throw new InvalidRunState(`a claim needs { decision: 'approved' | 'rejected' }, got ${JSON.stringify(decision?.decision)}.`);
    }
    await this.ready();
    try {
      const { rows } = await this.pool.query<{ state: RunState }>(
        `UPDATE lookout_run_states SET status = 'running', decision = $2, decided_by = $3, updated_at = now()
         WHERE run_id = $1 AND status = 'pending' RETURNING state`,
        [runId, decision.decision, decision.by ?? null],
      );
      return rows[0]?.state ?? null;
    } catch (error) {
      throw ioError(`Cannot claim run ${runId} in PostgreSQL`, error);
    }
  }

  /**
   * Stores a checkpoint of a claimed run (pass as the `checkpoint` option of resume/recover).
   * Throws, so the tool does not run, when the run is not running here any more.
   */
  async checkpoint(state: RunState): Promise<void> {
    await this.ready();
    let rowCount: number | null;
    try {
      ({ rowCount } = await this.pool.query(
        `UPDATE lookout_run_states SET state = $2::json, updated_at = now() WHERE run_id = $1 AND status = 'running'`,
        [state.runId, JSON.stringify(state)],
      ));
    } catch (error) {
      throw ioError(`Cannot store a checkpoint of run ${state.runId} in PostgreSQL`, error);
    }
    if (rowCount !== 1) throw new InvalidRunState(`run ${state.runId} is not claimed (it is unknown, pending or ended); claim it before continuing it.`);
  }

  /**
   * Records how a continued run ended: a result that paused again goes back to pending (with
   * its new state), anything else ends the run. For a run that threw, pass its id and 'error'.
   */
  async finish(result: AgentResult | { runId: string; status: 'error' }): Promise<void> {
    if (result.status === 'awaiting-approval' && 'state' in result && result.state) {
      await this.savePaused(result.state);
      return;
    }
    await this.ready();
    try {
      await this.pool.query(`UPDATE lookout_run_states SET status = 'ended', outcome = $2, updated_at = now() WHERE run_id = $1 AND status <> 'ended'`, [
        result.runId,
        result.status,
      ]);
    } catch (error) {
      throw ioError(`Cannot record the end of run ${result.runId} in PostgreSQL`, error);
    }
  }

  /**
   * Takes over a running run whose replica stopped (no checkpoint for `staleAfterMs`), once, for
   * `agent.recover(state)`. Choose staleAfterMs above the longest tool timeout.
   */
  async claimStale(runId: string, staleAfterMs: number): Promise<RunState | null> {
    if (!Number.isFinite(staleAfterMs) || staleAfterMs <= 0) throw new InvalidRunState(`staleAfterMs must be a positive number of milliseconds, got ${staleAfterMs}.`);
    await this.ready();
    try {
      const { rows } = await this.pool.query<{ state: RunState }>(
        `UPDATE lookout_run_states SET updated_at = now(), decided_by = coalesce(decided_by, '') || $3
         WHERE run_id = $1 AND status = 'running' AND updated_at < now() - make_interval(secs => $2::double precision / 1000)
         RETURNING state`,
        [runId, staleAfterMs, ` (recovered ${randomUUID().slice(0, 8)})`],
      );
      return rows[0]?.state ?? null;
    } catch (error) {
      throw ioError(`Cannot claim run ${runId} for recovery in PostgreSQL`, error);
    }
  }

  async get(runId: string): Promise<StoredRunState | null> {
    await this.ready();
    const { rows } = await this.pool.query<Row>('SELECT * FROM lookout_run_states WHERE run_id = $1', [runId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** States in one status (default: pending), oldest first; optionally of one session. */
  async list(options: { status?: RunStateStatus; sessionId?: string } = {}): Promise<StoredRunState[]> {
    await this.ready();
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM lookout_run_states WHERE status = $1 AND ($2::text IS NULL OR session_id = $2) ORDER BY created_at, run_id`,
      [options.status ?? 'pending', options.sessionId ?? null],
    );
    return rows.map(fromRow);
  }
}

function awaitedCall(state: RunState): { id: string; name: string } {
  if (!state || state.version !== 1 || !Array.isArray(state.pending) || typeof state.runId !== 'string') {
    throw new InvalidRunState('savePaused takes the state of an awaiting-approval result (a version 1 RunState).');
  }
  const first = state.pending[0];
  if (!first || !first.guarded || first.approval || first.rejection || first.answer) {
    throw new InvalidRunState(`run ${state.runId} has no tool call awaiting approval; savePaused takes the state of an awaiting-approval result.`);
  }
  return { id: first.call.id, name: first.call.name };
}

function fromRow(r: Row): StoredRunState {
  return {
    runId: r.run_id,
    sessionId: r.session_id,
    turnId: r.turn_id,
    status: r.status,
    toolCallId: r.tool_call_id,
    tool: r.tool,
    decision: r.decision,
    decidedBy: r.decided_by,
    outcome: r.outcome,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
