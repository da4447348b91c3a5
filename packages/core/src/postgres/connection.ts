import pg from 'pg';
import { migrate } from './migrations.js';

/** A pool the caller owns (and ends), or a connection string (the store owns its pool). */
export type PostgresConnection = pg.Pool | string;

export interface OwnedPool {
  pool: pg.Pool;
  /** True when the pool was made from a connection string: close() ends it. */
  owned: boolean;
}

export function toPool(connection: PostgresConnection, options: { max?: number } = {}): OwnedPool {
  if (typeof connection === 'string') {
    if (!/^postgres(ql)?:\/\//.test(connection)) {
      throw new TypeError('The Postgres connection must be a pg.Pool or a connection string starting with "postgres://" or "postgresql://".');
    }
    const pool = new pg.Pool({ connectionString: connection, max: options.max ?? 10 });
    // An idle connection the server closes (restart, failover) is dropped from the pool and the
    // next query opens a new one; without a listener the error would end the process.
    pool.on('error', () => {});
    return { pool, owned: true };
  }
  if (!connection || typeof (connection as pg.Pool).connect !== 'function') {
    throw new TypeError('The Postgres connection must be a pg.Pool or a connection string starting with "postgres://" or "postgresql://".');
  }
  return { pool: connection, owned: false };
}

/** Runs `fn` in one transaction on one client; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e; // the connection is gone: do not hand it back to the pool
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** The SQLSTATE of a pg error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export interface PostgresStoreOptions {
  /** Pool size when a connection string is given. Default 10. */
  maxConnections?: number;
  /** Run the schema migrations on first use (default true). With false, call `migrate()` yourself. */
  migrate?: boolean;
}

/** What every Postgres store shares: its pool (owned or the caller's) and the migrations on first use. */
export abstract class PostgresStoreBase {
  readonly pool: pg.Pool;
  private readonly owned: boolean;
  private readonly autoMigrate: boolean;
  private migrated?: Promise<unknown>;

  constructor(connection: PostgresConnection, options: PostgresStoreOptions = {}) {
    const { pool, owned } = toPool(connection, { max: options.maxConnections });
    this.pool = pool;
    this.owned = owned;
    this.autoMigrate = options.migrate ?? true;
  }

  /** Applies the schema migrations (once per store; safe across processes). */
  ready(): Promise<unknown> {
    if (!this.autoMigrate) return Promise.resolve();
    this.migrated ??= this.migrateSchema().catch((error: unknown) => {
      this.migrated = undefined;
      throw error;
    });
    return this.migrated;
  }

  /** The migrations this store needs; a store with tables of its own applies them after Lookout's. */
  protected migrateSchema(): Promise<unknown> {
    return migrate(this.pool);
  }

  /** Ends the pool when the store made it from a connection string. */
  async close(): Promise<void> {
    if (this.owned) await this.pool.end();
  }
}
