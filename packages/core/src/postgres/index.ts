// PostgreSQL stores for @lookout/core ("@lookout/core/postgres"): sessions with their audit log,
// and paused / checkpointed run states, shared by every replica. Loads `pg` only through here.
export { PostgresSessionStore, type PostgresStoreOptions } from './session-store.js';
export { PostgresRunStateStore, type RunStateStatus, type StoredRunState } from './run-states.js';
export { applyMigrations, LOOKOUT_SCHEMA, migrate, MIGRATIONS, type Migration, type MigrationSet } from './migrations.js';
// For stores of an application's own tables on the same database (pool, migrations, transactions).
export { inTransaction, PostgresStoreBase, sqlState, type PostgresConnection } from './connection.js';
export type { Pool as PgPool, PoolClient as PgPoolClient } from 'pg';
