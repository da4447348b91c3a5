// Test helper: appends `count` turns to one session of a FileSessionStore from its own process,
// each against the version it loaded, retrying on conflict. Usage: <dir> <sessionId> <tag> <count>
import { SessionConflictError } from '../errors.js';
import { FileSessionStore } from './file.js';

const [dir, sessionId, tag, count] = process.argv.slice(2) as [string, string, string, string];
const store = new FileSessionStore(dir);
let conflicts = 0;
for (let i = 0; i < Number(count); i++) {
  while (true) {
    const { version } = await store.load(sessionId);
    try {
      await store.appendTurn(
        sessionId,
        {
          turnId: `${tag}-${i}`,
          runId: `${tag}-${i}`,
          startedAt: new Date().toISOString(),
          endedAt: new Date().toISOString(),
          status: 'completed',
          messages: [{ role: 'user', content: `after version ${version}` }],
          audit: [],
        },
        { expectedVersion: version },
      );
      break;
    } catch (error) {
      if (!(error instanceof SessionConflictError)) throw error;
      conflicts += 1;
    }
  }
}
process.stdout.write(JSON.stringify({ conflicts }));
