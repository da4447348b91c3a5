// Test helper run as a child process: appends a turn (with audit and an image) to a
// PostgresSessionStore and stops dead inside the transaction, after the turn's row was
// inserted, printing "inserted" so the parent can kill -9 it there. Usage: <url> <sessionId>
import pg from 'pg';
import { PostgresSessionStore } from './session-store.js';

const [url, sessionId] = process.argv.slice(2) as [string, string];
const pool = new pg.Pool({ connectionString: url, max: 2 });
const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
(pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
  const client = await connect();
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
    const result = await query(...args);
    if (typeof args[0] === 'string' && args[0].includes('INSERT INTO lookout_audit')) {
      process.stdout.write('inserted\n');
      await new Promise(() => {});
    }
    return result;
  };
  return client;
};
const store = new PostgresSessionStore(pool);
await store.ready();
const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
await store.appendTurn(
  sessionId,
  {
    turnId: 'doomed',
    runId: 'doomed-run',
    startedAt: new Date().toISOString(),
    endedAt: new Date().toISOString(),
    status: 'completed',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', image: `data:image/png;base64,${png}` }] }],
    audit: [{ kind: 'verdict', time: new Date().toISOString(), runId: 'doomed-run', stage: 'input', guard: 'g', safe: false, categories: ['S1'], latencyMs: 1, action: 'block' }],
  },
  { expectedVersion: 0 },
);
