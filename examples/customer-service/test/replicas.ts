// Bot processes for the scale-out tests: each a real bot server (its own process and port) on
// one PostgreSQL database, started as `pnpm start` would start it (src/main.ts --demo) or from a
// fixture with a model that stops where a test needs it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAFF, type SseEvent } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Replica {
  url: string;
  process: ChildProcess;
  /** kill -9: no shutdown of any kind. */
  kill(): Promise<void>;
  /** SIGTERM, as a deploy would stop it. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

function spawnReplica(args: string[], urlPattern: RegExp): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const found = urlPattern.exec(out);
      if (!found) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({
        url: found[1]!,
        process: child,
        kill: async () => {
          child.kill('SIGKILL');
          await exited(child);
        },
        stop: async () => {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited(child);
          clearTimeout(timer);
        },
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the bot exited before listening (${code}):\n${out}`)));
  });
}

/** `pnpm start -- --demo --database-url … --port 0`: the scripted demo model, everything in PostgreSQL. */
export function startDemoReplica(databaseUrl: string, dataDir: string): Promise<Replica> {
  const main = path.join(here, '../src/main.ts');
  const args = [main, '--demo', '--port', '0', '--database-url', databaseUrl, '--data-dir', dataDir, '--staff-password', STAFF.password];
  return spawnReplica(args, /support bot:\s+(http:\/\/\S+)/);
}

/** test/fixtures/replica.ts with one of its models (see there). */
export function startFixtureReplica(databaseUrl: string, model: string, leaseMs: number): Promise<Replica> {
  return spawnReplica([path.join(here, 'fixtures/replica.ts'), databaseUrl, model, String(leaseMs)], /^(http:\/\/\S+)$/m);
}

/**
 * Sends a chat message and reads the reply's events as they stream in; `until` stops reading
 * early (the request stays open) once an event matches.
 */
export async function streamChat(base: string, cookie: string, text: string, until?: (e: SseEvent) => boolean): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(new URL('/api/chat', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: new URL(base).origin },
    body: JSON.stringify({ text, images: [] }),
  });
  const events: SseEvent[] = [];
  if (!res.ok || !res.body) return { status: res.status, events };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = { event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) };
      events.push(event);
      if (until?.(event)) return { status: res.status, events };
    }
  }
  return { status: res.status, events };
}
