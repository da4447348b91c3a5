/**
 * One build per output directory at a time, across processes. Replicas started together on a
 * model that is not built yet all try to build it; the first takes the lock and builds, the
 * others wait and then use its result. The lock is a file created with O_EXCL holding the
 * holder's pid and host; a lock whose process is gone (same host) or that has not been touched
 * for `staleMs` (another host, e.g. on a shared volume) is taken over.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OnnxError } from './errors.js';

export const BUILD_LOCK_FILE = '.lookout-build.lock';

export interface BuildLockOptions {
  /** How often a waiting build looks at the lock again (ms). Default 200. */
  pollMs?: number;
  /** A lock untouched this long is stale whoever holds it (ms). Default 10 minutes; the holder touches it every staleMs / 4. */
  staleMs?: number;
  /** Give up waiting after this long (ms) with ONNX_BUILD_LOCKED. Default: wait as long as the holder lives. */
  timeoutMs?: number;
  /** Called once when the lock is held by another build and this one starts waiting. */
  onWait?: (holder: LockHolder) => void;
}

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

export interface BuildLock {
  /** True when another build held the lock and this one waited for it. */
  readonly waited: boolean;
  release(): void;
}

/** A name no other process or build uses: `<path>.<pid>-<random>.<suffix>`. */
export function uniqueTempPath(path: string, suffix: 'partial' | 'tmp'): string {
  return `${path}.${process.pid}-${randomBytes(4).toString('hex')}.${suffix}`;
}

const TEMP_NAME = /\.(\d+)-[0-9a-f]{8}\.(partial|tmp)$/;

/** Removes temp files (uniqueTempPath names) that crashed builds on this host left in `dir`. */
export function removeAbandonedTempFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(TEMP_NAME.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) rmSync(join(dir, name), { force: true });
  }
}

export async function acquireBuildLock(dir: string, options: BuildLockOptions = {}): Promise<BuildLock> {
  const file = join(dir, BUILD_LOCK_FILE);
  const pollMs = options.pollMs ?? 200;
  const staleMs = options.staleMs ?? 10 * 60_000;
  const started = Date.now();
  let waited = false;
  for (;;) {
    const fd = tryCreate(file);
    if (fd !== undefined) {
      const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return heldLock(file, me, staleMs, waited);
    }
    const holder = readHolder(file);
    if (isStale(file, holder, staleMs)) {
      breakLock(file, holder);
      continue;
    }
    if (!waited && holder) options.onWait?.(holder);
    waited = true;
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs)
      throw new OnnxError(
        'ONNX_BUILD_LOCKED',
        `another build of this model (pid ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}) still holds ${BUILD_LOCK_FILE} after ${options.timeoutMs} ms; wait for it, or delete the lock file if that process is gone`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function tryCreate(file: string): number | undefined {
  try {
    return openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}

function heldLock(file: string, me: LockHolder, staleMs: number, waited: boolean): BuildLock {
  // Keep the lock fresh for builds on other hosts that judge it by age.
  const touch = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // released or taken over; nothing to keep fresh
    }
  }, Math.max(1000, staleMs / 4));
  touch.unref();
  let released = false;
  return {
    waited,
    release() {
      if (released) return;
      released = true;
      clearInterval(touch);
      // Only our own lock: a lock taken over as stale belongs to someone else now.
      const holder = readHolder(file);
      if (holder && holder.pid === me.pid && holder.host === me.host && holder.started === me.started) rmSync(file, { force: true });
    },
  };
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    // gone, or its holder has not written it yet
    return undefined;
  }
}

function isStale(file: string, holder: LockHolder | undefined, staleMs: number): boolean {
  let age: number;
  try {
    age = Date.now() - statSync(file).mtimeMs;
  } catch {
    return false; // released meanwhile: try again
  }
  // Unreadable for a while: its creator died between creating and writing it.
  if (!holder) return age > Math.min(staleMs, 5000);
  if (holder.host === hostname()) return !processAlive(holder.pid);
  return age > staleMs;
}

/** Moves the stale lock aside under a unique name, so two builds breaking it at once cannot remove a fresh one. */
function breakLock(file: string, seen: LockHolder | undefined): void {
  const aside = uniqueTempPath(file, 'tmp');
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = readHolder(aside);
  // What was moved is not the lock judged stale (it was replaced in between): put it back.
  if (moved && seen && (moved.pid !== seen.pid || moved.started !== seen.started)) {
    try {
      // link, not rename: it fails rather than replace a lock created since.
      linkSync(aside, file);
    } catch {
      // a newer lock is in place; the moved one is dropped
    }
  }
  rmSync(aside, { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
