import type pg from 'pg';
import { SessionError } from '../errors.js';

/**
 * The schema, as numbered migrations applied in order, each once, in its own transaction.
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'sessions, audit, images, run states',
    sql: `
CREATE TABLE lookout_turns (
  session_id  text        NOT NULL,
  seq         integer     NOT NULL CHECK (seq >= 1),
  turn_id     text        NOT NULL,
  run_id      text        NOT NULL,
  status      text        NOT NULL,
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz NOT NULL,
  -- The TurnRecord as JSON (json keeps the text as written); images are references into lookout_images.
  turn        json        NOT NULL,
  PRIMARY KEY (session_id, seq),
  CONSTRAINT lookout_turns_turn_once UNIQUE (session_id, turn_id)
);

CREATE TABLE lookout_audit (
  session_id   text             NOT NULL,
  seq          integer          NOT NULL,
  position     integer          NOT NULL,
  turn_id      text             NOT NULL,
  run_id       text             NOT NULL,
  kind         text             NOT NULL CHECK (kind IN ('verdict', 'tool-call')),
  time         timestamptz      NOT NULL,
  stage        text,
  guard        text,
  safe         boolean,
  categories   text[],
  score        double precision,
  action       text,
  failure      text,
  reason       text,
  tool_call_id text,
  tool         text,
  arguments    json,
  status       text,
  code         text,
  flagged      boolean,
  latency_ms   double precision NOT NULL,
  PRIMARY KEY (session_id, seq, position),
  FOREIGN KEY (session_id, seq) REFERENCES lookout_turns (session_id, seq) ON DELETE CASCADE
);
-- "Every unsafe verdict of the last day": a partial index holds only the unsafe verdicts.
CREATE INDEX lookout_audit_unsafe_by_time ON lookout_audit (time DESC) WHERE kind = 'verdict' AND safe = false;
CREATE INDEX lookout_audit_by_time ON lookout_audit (time);

CREATE TABLE lookout_images (
  sha256     text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  media_type text        NOT NULL,
  bytes      bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lookout_run_states (
  run_id       text        PRIMARY KEY,
  session_id   text        NOT NULL,
  turn_id      text        NOT NULL,
  -- pending: awaiting a decision; running: claimed, checkpoints arrive; ended: its turn is stored.
  status       text        NOT NULL CHECK (status IN ('pending', 'running', 'ended')),
  tool_call_id text,
  tool         text,
  decision     text        CHECK (decision IN ('approved', 'rejected')),
  decided_by   text,
  outcome      text,
  state        json        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lookout_run_states_by_status ON lookout_run_states (status, updated_at);
CREATE INDEX lookout_run_states_by_session ON lookout_run_states (session_id);
`,
  },
];

/** Any fixed pair works; this one spells "look" / 1. */
const LOCK_KEY = [0x6c6f6f6b, 1] as const;

/**
 * Brings the schema up to the newest migration. Safe to call from several processes at once:
 * they queue on a Postgres advisory lock and each migration is applied exactly once.
 * Resolves with the versions this call applied.
 */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new SessionError('session-io', `Cannot connect to PostgreSQL to migrate the Lookout schema: ${(error as Error).message}`, { cause: error });
  }
  let broken: Error | undefined;
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS lookout_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM lookout_migrations');
      const done = new Set(rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO lookout_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw new SessionError('session-io', `Lookout schema migration ${m.version} (${m.name}) failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...LOCK_KEY]).catch((e: Error) => {
        broken = e;
      });
    }
  } catch (error) {
    broken ??= error as Error;
    if (error instanceof SessionError) throw error;
    throw new SessionError('session-io', `Cannot migrate the Lookout schema: ${(error as Error).message}`, { cause: error });
  } finally {
    client.release(broken);
  }
  return applied;
}
