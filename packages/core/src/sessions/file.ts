import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SessionError } from '../errors.js';
import type { SessionSnapshot, SessionStore, TurnRecord } from './types.js';

const SESSION_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * One append-only JSONL file per session (`<dir>/<sessionId>.jsonl`), one line per finished
 * turn, fsynced before appendTurn resolves. A line torn by a crash is skipped on read, and the
 * next append starts on a fresh line, so every completed turn stays readable.
 */
export class FileSessionStore implements SessionStore {
  // Appends to the same file are serialised so lines never interleave within this process.
  private readonly queues = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  fileFor(sessionId: string): string {
    if (!SESSION_ID.test(sessionId) || sessionId.includes('..')) {
      throw new SessionError(
        'session-invalid-id',
        `Session id "${sessionId}" is not accepted: use 1-128 letters, digits, ".", "_" or "-", not starting with "." and without "..".`,
      );
    }
    return path.join(this.dir, `${sessionId}.jsonl`);
  }

  async load(sessionId: string): Promise<SessionSnapshot> {
    const file = this.fileFor(sessionId);
    await this.queues.get(sessionId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { sessionId, turns: [], skippedLines: 0 };
      throw new SessionError('session-io', `Cannot read session file ${file}: ${(error as Error).message}`, { cause: error });
    }
    const turns: TurnRecord[] = [];
    let skippedLines = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as TurnRecord;
        if (record && typeof record.turnId === 'string' && Array.isArray(record.messages)) turns.push(record);
        else skippedLines += 1;
      } catch {
        skippedLines += 1;
      }
    }
    return { sessionId, turns, skippedLines };
  }

  appendTurn(sessionId: string, turn: TurnRecord): Promise<void> {
    const file = this.fileFor(sessionId);
    const previous = this.queues.get(sessionId) ?? Promise.resolve();
    const next = previous.then(() => this.write(file, JSON.stringify(turn)));
    const settled = next.catch(() => {});
    this.queues.set(sessionId, settled);
    void settled.then(() => {
      if (this.queues.get(sessionId) === settled) this.queues.delete(sessionId);
    });
    return next;
  }

  private async write(file: string, line: string): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(file, 'a+');
      try {
        const { size } = await handle.stat();
        let prefix = '';
        if (size > 0) {
          // A crash mid-write leaves a last line without its newline: start on a fresh one.
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        }
        await handle.write(`${prefix}${line}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if ((await this.isNew(file))) await this.syncDir();
    } catch (error) {
      if (error instanceof SessionError) throw error;
      throw new SessionError('session-io', `Cannot append to session file ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  private readonly synced = new Set<string>();

  // The directory entry of a new file must be fsynced too, or the file can vanish on power loss.
  private async isNew(file: string): Promise<boolean> {
    if (this.synced.has(file)) return false;
    this.synced.add(file);
    return true;
  }

  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
