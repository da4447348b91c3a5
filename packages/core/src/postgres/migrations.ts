import type pg from 'pg';
import { SessionError } from '../errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * A schema kept by numbered migrations: the table that records which ran, and the advisory
 * lock that lets processes starting together apply each migration once.
 */
export interface MigrationSet {
  /** Named in errors, e.g. "Lookout". */
  schema: string;
  /** Table recording the applied versions (created if missing). */
  table: string;
  /** Advisory lock key pair, distinct per schema so unrelated schemas never wait on each other. */
  lock: readonly [number, number];
  migrations: readonly Migration[];
}

/**
 * The schema, as numbered migrations applied in order, each once, in its own transaction.
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: ReadonlyArray<Migration> = [
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

/** Lookout's own tables. The lock pair spells "look" / 1. */
export const LOOKOUT_SCHEMA: MigrationSet = { schema: 'Lookout', table: 'lookout_migrations', lock: [0x6c6f6f6b, 1], migrations: MIGRATIONS };

/** Brings Lookout's tables up to the newest migration (see applyMigrations). */
export function migrate(pool: pg.Pool): Promise<number[]> {
  return applyMigrations(pool, LOOKOUT_SCHEMA);
}

/**
 * Brings a schema up to its newest migration. Safe to call from several processes at once:
 * they queue on a Postgres advisory lock and each migration is applied exactly once.
 * Resolves with the versions this call applied.
 */
export async function applyMigrations(pool: pg.Pool, set: MigrationSet): Promise<number[]> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(set.table)) throw new TypeError(`Migration table name "${set.table}" is not a plain lower-case SQL identifier.`);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new SessionError('session-io', `Cannot connect to PostgreSQL to migrate the ${set.schema} schema: ${(error as Error).message}`, { cause: error });
  }
  let broken: Error | undefined;
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...set.lock]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS ${set.table} (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${set.table}`);
      const done = new Set(rows.map((r) => r.version));
      for (const m of set.migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(`INSERT INTO ${set.table} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw new SessionError('session-io', `${set.schema} schema migration ${m.version} (${m.name}) failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...set.lock]).catch((e: Error) => {
        broken = e;
      });
    }
  } catch (error) {
    broken ??= error as Error;
    if (error instanceof SessionError) throw error;
    throw new SessionError('session-io', `Cannot migrate the ${set.schema} schema: ${(error as Error).message}`, { cause: error });
  } finally {
    client.release(broken);
  }
  return applied;
}
