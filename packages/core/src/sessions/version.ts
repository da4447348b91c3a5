import { SessionError } from '../errors.js';

/** An expectedVersion that is not a version (versions are whole numbers of 0 or more). */
export function checkExpectedVersion(expectedVersion: unknown): void {
  if (expectedVersion === undefined) return;
  if (typeof expectedVersion !== 'number' || !Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw new SessionError(
      'session-invalid-version',
      `expectedVersion ${String(expectedVersion)} is not accepted: pass the version load() returned (an integer of 0 or more), or leave it out to append unconditionally.`,
    );
  }
}
