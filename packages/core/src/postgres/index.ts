// PostgreSQL stores for @lookout/core ("@lookout/core/postgres"): sessions with their audit log,
// and paused / checkpointed run states, shared by every replica. Loads `pg` only through here.
export { PostgresSessionStore, type PostgresStoreOptions } from './session-store.js';
export { PostgresRunStateStore, type RunStateStatus, type StoredRunState } from './run-states.js';
export { migrate, MIGRATIONS } from './migrations.js';
export type { PostgresConnection } from './connection.js';
