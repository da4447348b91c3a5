import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionConflictError, SessionError } from '../errors.js';
import type { AppendTurnOptions, SessionSnapshot, SessionStore, TurnRecord } from './types.js';
import { checkExpectedVersion } from './version.js';

const SESSION_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * One append-only JSONL file per session (`<dir>/<sessionId>.jsonl`), one line per finished
 * turn, fsynced before appendTurn resolves. A line torn by a crash is skipped on read, and the
 * next append starts on a fresh line, so every completed turn stays readable.
 *
 * The session's version is its number of readable turns. An append holds the session's lock
 * file (`<sessionId>.jsonl.lock`, created with O_EXCL, holding the writer's pid and host) while
 * it compares the version and writes, so processes sharing the directory keep one writer per
 * session. A lock left by a process that died is taken over.
 */
export class FileSessionStore implements SessionStore {
  // Appends to the same file are serialised so lines never interleave within this process.
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    readonly dir: string,
    private readonly lockOptions: { timeoutMs?: number; staleMs?: number } = {},
  ) {}

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
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { sessionId, turns: [], skippedLines: 0, version: 0 };
      throw new SessionError('session-io', `Cannot read session file ${file}: ${(error as Error).message}`, { cause: error });
    }
    return { sessionId, ...parseTurns(text) };
  }

  appendTurn(sessionId: string, turn: TurnRecord, options: AppendTurnOptions = {}): Promise<void> {
    let file: string;
    try {
      file = this.fileFor(sessionId);
      checkExpectedVersion(options.expectedVersion);
    } catch (error) {
      return Promise.reject(error);
    }
    const previous = this.queues.get(sessionId) ?? Promise.resolve();
    const next = previous.then(() => this.locked(file, () => this.write(file, sessionId, JSON.stringify(turn), options.expectedVersion)));
    const settled = next.catch(() => {});
    this.queues.set(sessionId, settled);
    void settled.then(() => {
      if (this.queues.get(sessionId) === settled) this.queues.delete(sessionId);
    });
    return next;
  }

  /** Runs `fn` holding the session's lock file, shared with every process using this directory. */
  private async locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
    const lock = `${file}.lock`;
    const timeoutMs = this.lockOptions.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const owner = JSON.stringify({ pid: process.pid, host: hostname(), nonce: randomUUID() });
    let delay = 1;
    try {
      await mkdir(this.dir, { recursive: true });
      while (true) {
        try {
          const handle = await open(lock, 'wx');
          try {
            await handle.writeFile(owner);
          } finally {
            await handle.close();
          }
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        if (await this.removeIfStale(lock)) continue;
        if (Date.now() > deadline) {
          throw new SessionError('session-io', `Session file ${file} stayed locked by another writer for ${timeoutMs} ms (${lock}); remove the lock file if no process is writing.`);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 50);
      }
    } catch (error) {
      if (error instanceof SessionError) throw error;
      throw new SessionError('session-io', `Cannot lock session file ${file}: ${(error as Error).message}`, { cause: error });
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => {});
    }
  }

  /**
   * A lock whose holder died (same host, pid gone) or that is older than staleMs without a live
   * holder on this host is moved aside; if what was moved turns out to be a fresh lock taken in
   * between, it is put back.
   */
  private async removeIfStale(lock: string): Promise<boolean> {
    let content: string;
    let ageMs: number;
    try {
      content = await readFile(lock, 'utf8');
      ageMs = Date.now() - (await stat(lock)).mtimeMs;
    } catch {
      return true; // gone already: try again at once
    }
    if (!isStale(content, ageMs, this.lockOptions.staleMs ?? 30_000)) return false;
    const aside = `${lock}.stale-${process.pid}-${randomUUID()}`;
    try {
      await rename(lock, aside);
    } catch {
      return true;
    }
    const moved = await readFile(aside, 'utf8').catch(() => content);
    if (moved !== content) await link(aside, lock).catch(() => {});
    await unlink(aside).catch(() => {});
    return true;
  }

  private async write(file: string, sessionId: string, line: string, expectedVersion: number | undefined): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(file, 'a+');
      try {
        const info = await handle.stat();
        const { size } = info;
        // A file's identity: its inode, and its birth time where the file system has one (inodes are reused).
        const ino = `${info.ino}:${info.birthtimeMs}`;
        let version: number | undefined;
        if (expectedVersion !== undefined) {
          version = await this.counted(file, handle, ino, size);
          if (version !== expectedVersion) throw new SessionConflictError(sessionId, expectedVersion, version);
        }
        let prefix = '';
        if (size > 0) {
          // A crash mid-write leaves a last line without its newline: start on a fresh one.
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        }
        const text = `${prefix}${line}\n`;
        this.counts.delete(file);
        await handle.write(text);
        await handle.sync();
        if (version !== undefined) this.remember(file, { ino, offset: size + Buffer.byteLength(text), version: version + 1 });
      } finally {
        await handle.close();
      }
      if ((await this.isNew(file))) await this.syncDir();
    } catch (error) {
      if (error instanceof SessionError) throw error;
      throw new SessionError('session-io', `Cannot append to session file ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Per file: the turns counted up to a byte offset (just after a newline). The file only ever
   * grows, so the next append reads just what was added since, and its cost does not grow with
   * the session. A file replaced (other inode) or shorter than the offset is counted afresh.
   */
  private readonly counts = new Map<string, { ino: string; offset: number; version: number }>();

  private async counted(file: string, handle: FileHandle, ino: string, size: number): Promise<number> {
    const known = this.counts.get(file);
    const from = known && known.ino === ino && known.offset <= size ? known : { ino, offset: 0, version: 0 };
    const added = Buffer.alloc(size - from.offset);
    if (added.length > 0) await handle.read(added, 0, added.length, from.offset);
    const end = added.lastIndexOf(0x0a) + 1;
    const whole = from.version + (end > 0 ? parseTurns(added.subarray(0, end).toString('utf8')).version : 0);
    this.remember(file, { ino, offset: from.offset + end, version: whole });
    // A last line without its newline (a torn write, or one whose newline was lost) counts if it parses.
    return end < added.length ? whole + parseTurns(added.subarray(end).toString('utf8')).version : whole;
  }

  private remember(file: string, count: { ino: string; offset: number; version: number }): void {
    this.counts.delete(file);
    this.counts.set(file, count);
    // Bounded: the least recently written files are counted afresh when written again.
    if (this.counts.size > 10_000) this.counts.delete(this.counts.keys().next().value!);
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

function parseTurns(text: string): Omit<SessionSnapshot, 'sessionId'> {
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
  return { turns, skippedLines, version: turns.length };
}

function isStale(content: string, ageMs: number, staleMs: number): boolean {
  let holder: { pid?: unknown; host?: unknown } | undefined;
  try {
    holder = JSON.parse(content) as { pid?: unknown; host?: unknown };
  } catch {
    holder = undefined; // a holder that died between creating and writing the lock
  }
  if (holder && typeof holder.pid === 'number' && holder.host === hostname()) return !alive(holder.pid);
  return ageMs > staleMs;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
