// Staff sign-in: one staff account whose password is kept only as a scrypt hash, server-side
// staff sessions behind their own cookie, and a limit on failed sign-ins.
import { randomBytes, scrypt as scryptCallback, scryptSync, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';
import type { ShopStore } from './store/types.js';
import { LookoutError } from '@lookout/tools/errors';

export class StaffConfigError extends LookoutError<'example.staff-config'> {
  constructor(message: string) {
    super('example.staff-config', message);
  }
}

export interface StaffCredentials {
  /** Default "staff". */
  user?: string;
  /** At least 12 characters. Without one, a password is generated on first start and stored hashed. */
  password?: string;
}

export const MIN_STAFF_PASSWORD = 12;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** "scrypt$N$r$p$salt$hash" (base64url). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Compares in constant time; false for a malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export interface StaffAccount {
  username: string;
  passwordHash: string;
  /** Set only on the start that generated it: print it once, it is stored hashed. */
  generatedPassword?: string;
}

/**
 * The staff account: configured credentials (hashed in memory, never stored), else the one kept
 * hashed in the database, else a new random password stored hashed and returned once. Of
 * replicas starting together on one database, the one whose account is stored prints its
 * password; the others use that account.
 */
export async function resolveStaffAccount(db: ShopStore, credentials: StaffCredentials = {}): Promise<StaffAccount> {
  const user = credentials.user?.trim() || undefined;
  if (user !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(user)) {
    throw new StaffConfigError(`the staff user name "${user}" is not accepted: use 1-64 letters, digits, ".", "_", "@" or "-"`);
  }
  if (credentials.password !== undefined) {
    if (credentials.password.length < MIN_STAFF_PASSWORD) {
      throw new StaffConfigError(`the staff password must be at least ${MIN_STAFF_PASSWORD} characters (got ${credentials.password.length})`);
    }
    return { username: user ?? 'staff', passwordHash: hashPassword(credentials.password) };
  }
  const stored = user ? await db.staffAccount(user) : await db.firstStaffAccount();
  if (stored) return stored;
  const password = randomBytes(18).toString('base64url');
  const account = { username: user ?? 'staff', passwordHash: hashPassword(password) };
  const kept = await db.addStaffAccount(account.username, account.passwordHash);
  return kept.passwordHash === account.passwordHash ? { ...account, generatedPassword: password } : kept;
}

export interface StaffSessionLimits {
  /** An unused staff session is signed out after this long (ms). Default 12 hours. */
  idleMs: number;
  /** Live staff sessions kept at most; the least recently used go first. Default 50. */
  maxSessions: number;
}

export const DEFAULT_STAFF_SESSION_LIMITS: StaffSessionLimits = { idleMs: 12 * 60 * 60 * 1000, maxSessions: 50 };

/** Failed staff sign-ins allowed per client address in a window, before it is refused (429). */
export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 15 * 60 * 1000,
  ) {}

  /** Milliseconds until this client may try again, or 0. */
  blockedFor(client: string, now = Date.now()): number {
    const f = this.failures.get(client);
    if (!f || now - f.since > this.windowMs) return 0;
    return f.count >= this.maxFailures ? this.windowMs - (now - f.since) : 0;
  }

  fail(client: string, now = Date.now()): void {
    const f = this.failures.get(client);
    if (!f || now - f.since > this.windowMs) this.failures.set(client, { count: 1, since: now });
    else f.count++;
    if (this.failures.size > 10_000) {
      for (const [key, v] of this.failures) if (now - v.since > this.windowMs) this.failures.delete(key);
      // Still full: forget the oldest entry rather than grow without bound.
      if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
    }
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}

/** Checks a sign-in attempt: user name and password both compared in constant time. */
export async function checkStaffSignIn(account: StaffAccount, username: string, password: string): Promise<boolean> {
  const userOk = timingSafeEqual(digest(username), digest(account.username));
  // Always run scrypt, so a wrong user name takes as long as a wrong password.
  const passwordOk = await verifyPassword(password, account.passwordHash);
  return userOk && passwordOk;
}
