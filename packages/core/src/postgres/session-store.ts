import type pg from 'pg';
import { SessionConflictError, SessionError } from '../errors.js';
import { toStorableMessages } from '../sessions/storable.js';
import type { AppendTurnOptions, AuditEntry, SessionSnapshot, SessionStore, TurnRecord } from '../sessions/types.js';
import { checkExpectedVersion } from '../sessions/version.js';
import { inTransaction, PostgresStoreBase, sqlState } from './connection.js';
import { extractImages, imageRefs, restoreImages, type ImageRow } from './images.js';

export type { PostgresStoreOptions } from './connection.js';

const UNIQUE_VIOLATION = '23505';

/**
 * Sessions (turns and their audit) in PostgreSQL, shared by every replica of a bot.
 *
 * A turn is one transaction: its row in lookout_turns (seq = the version it was appended
 * against + 1), one row per audit entry in lookout_audit and its images in lookout_images. The
 * primary key (session_id, seq) keeps one writer per session: of two appends against the same
 * version, the second fails the constraint and gets SessionConflictError, and nothing of it is
 * written.
 */
export class PostgresSessionStore extends PostgresStoreBase implements SessionStore {

  async load(sessionId: string): Promise<SessionSnapshot> {
    checkSessionId(sessionId);
    await this.ready();
    try {
      const { rows } = await this.pool.query<{ seq: number; turn: TurnRecord }>(
        'SELECT seq, turn FROM lookout_turns WHERE session_id = $1 ORDER BY seq',
        [sessionId],
      );
      const turns = rows.map((r) => r.turn);
      const refs = [...new Set(turns.flatMap((t) => imageRefs(t.messages)))];
      if (refs.length > 0) {
        const images = await this.pool.query<{ sha256: string; media_type: string; bytes: Buffer }>(
          'SELECT sha256, media_type, bytes FROM lookout_images WHERE sha256 = ANY($1::text[])',
          [refs],
        );
        const byHash = new Map<string, ImageRow>(images.rows.map((r) => [r.sha256, { sha256: r.sha256, mediaType: r.media_type, bytes: r.bytes }]));
        for (const t of turns) t.messages = restoreImages(t.messages, byHash);
      }
      return { sessionId, turns, skippedLines: 0, version: rows.length === 0 ? 0 : rows[rows.length - 1]!.seq };
    } catch (error) {
      throw ioError(`Cannot load session "${sessionId}" from PostgreSQL`, error);
    }
  }

  async appendTurn(sessionId: string, turn: TurnRecord, options: AppendTurnOptions = {}): Promise<void> {
    checkSessionId(sessionId);
    checkExpectedVersion(options.expectedVersion);
    await this.ready();
    const { messages, images } = extractImages(toStorableMessages(turn.messages));
    const stored: TurnRecord = { ...turn, messages };
    // Without an expected version the turn goes after whatever is there; a concurrent append
    // taking that place first just means trying the next one.
    for (let attempt = 1; ; attempt++) {
      try {
        await inTransaction(this.pool, (client) => this.insert(client, sessionId, stored, images, options.expectedVersion));
        return;
      } catch (error) {
        if (error instanceof SessionConflictError) {
          if (options.expectedVersion === undefined && attempt < 10) continue;
          throw error;
        }
        if (sqlState(error) === UNIQUE_VIOLATION) {
          if (options.expectedVersion === undefined && attempt < 10 && !isTurnOnce(error)) continue;
          const actual = await this.version(sessionId).catch(() => undefined);
          throw new SessionConflictError(sessionId, options.expectedVersion ?? actual ?? 0, actual, {
            cause: error,
            ...(isTurnOnce(error)
              ? { message: `Turn "${turn.turnId}" is already stored in session "${sessionId}"; a turn is written once. Nothing was stored again.` }
              : {}),
          });
        }
        throw ioError(`Cannot append a turn to session "${sessionId}" in PostgreSQL`, error);
      }
    }
  }

  /** The session's version now (its number of turns). */
  async version(sessionId: string): Promise<number> {
    await this.ready();
    const { rows } = await this.pool.query<{ v: number }>('SELECT coalesce(max(seq), 0)::int AS v FROM lookout_turns WHERE session_id = $1', [sessionId]);
    return rows[0]!.v;
  }

  /** Ends the pool if this store made it from a connection string. */
  private async insert(client: pg.PoolClient, sessionId: string, turn: TurnRecord, images: ImageRow[], expectedVersion: number | undefined): Promise<void> {
    if (images.length > 0) {
      await client.query(
        `INSERT INTO lookout_images (sha256, media_type, bytes)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) ON CONFLICT (sha256) DO NOTHING`,
        [images.map((i) => i.sha256), images.map((i) => i.mediaType), images.map((i) => i.bytes)],
      );
    }
    // Inserted only if the session is still at the expected version; seq is that version + 1.
    const inserted = await client.query<{ seq: number }>(
      `WITH current AS (SELECT coalesce(max(seq), 0)::int AS v FROM lookout_turns WHERE session_id = $1)
       INSERT INTO lookout_turns (session_id, seq, turn_id, run_id, status, started_at, ended_at, turn)
       SELECT $1, v + 1, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8::json FROM current
       WHERE $2::int IS NULL OR v = $2::int
       RETURNING seq`,
      [sessionId, expectedVersion ?? null, turn.turnId, turn.runId, turn.status, turn.startedAt, turn.endedAt, JSON.stringify(turn)],
    );
    if (inserted.rowCount === 0) {
      const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(seq), 0)::int AS v FROM lookout_turns WHERE session_id = $1', [sessionId]);
      throw new SessionConflictError(sessionId, expectedVersion!, rows[0]!.v);
    }
    const seq = inserted.rows[0]!.seq;
    if (turn.audit.length > 0) {
      await client.query(
        `INSERT INTO lookout_audit (session_id, seq, position, turn_id, run_id, kind, time, stage, guard, safe, categories, score,
           action, failure, reason, tool_call_id, tool, arguments, status, code, flagged, latency_ms)
         SELECT $1, $2, a.position, $3, a.run_id, a.kind, a.time, a.stage, a.guard, a.safe,
           ARRAY(SELECT json_array_elements_text(a.categories)), a.score, a.action, a.failure, a.reason,
           a.tool_call_id, a.tool, a.arguments, a.status, a.code, a.flagged, a.latency_ms
         FROM json_to_recordset($4::json) AS a(position int, run_id text, kind text, time timestamptz, stage text, guard text,
           safe boolean, categories json, score double precision, action text, failure text, reason text, tool_call_id text,
           tool text, arguments json, status text, code text, flagged boolean, latency_ms double precision)`,
        [sessionId, seq, turn.turnId, JSON.stringify(turn.audit.map(auditRow))],
      );
    }
  }
}

function auditRow(entry: AuditEntry, position: number): Record<string, unknown> {
  const common = { position, run_id: entry.runId, kind: entry.kind, time: entry.time, latency_ms: entry.latencyMs ?? 0 };
  if (entry.kind === 'verdict') {
    return {
      ...common,
      stage: entry.stage,
      guard: entry.guard,
      safe: entry.safe,
      categories: entry.categories ?? [],
      score: entry.score ?? null,
      action: entry.action,
      failure: entry.failure ?? null,
      reason: entry.reason ?? null,
      tool_call_id: entry.toolCallId ?? null,
    };
  }
  return {
    ...common,
    tool_call_id: entry.toolCallId,
    tool: entry.tool,
    arguments: entry.arguments === undefined ? null : entry.arguments,
    status: entry.status,
    code: entry.code ?? null,
    flagged: entry.flagged ?? null,
  };
}

function isTurnOnce(error: unknown): boolean {
  return (error as { constraint?: unknown }).constraint === 'lookout_turns_turn_once';
}

function checkSessionId(sessionId: unknown): void {
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256 || sessionId.includes('\u0000')) {
    throw new SessionError('session-invalid-id', `Session id ${JSON.stringify(sessionId)} is not accepted: use a non-empty string of at most 256 characters without NUL.`);
  }
}

export function ioError(what: string, error: unknown): SessionError {
  if (error instanceof SessionError) return error;
  return new SessionError('session-io', `${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
