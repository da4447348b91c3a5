import { SessionConflictError } from '../errors.js';
import { checkExpectedVersion } from './version.js';
import type { AppendTurnOptions, SessionSnapshot, SessionStore, TurnRecord } from './types.js';

/** Keeps sessions in process memory; turns are deep-copied so later mutation cannot reach them. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, TurnRecord[]>();

  async load(sessionId: string): Promise<SessionSnapshot> {
    const turns = this.sessions.get(sessionId) ?? [];
    return { sessionId, turns: structuredClone(turns), skippedLines: 0, version: turns.length };
  }

  async appendTurn(sessionId: string, turn: TurnRecord, options: AppendTurnOptions = {}): Promise<void> {
    checkExpectedVersion(options.expectedVersion);
    const turns = this.sessions.get(sessionId) ?? [];
    if (options.expectedVersion !== undefined && options.expectedVersion !== turns.length) {
      throw new SessionConflictError(sessionId, options.expectedVersion, turns.length);
    }
    turns.push(structuredClone(turn));
    this.sessions.set(sessionId, turns);
  }

  /** Ids of every session held. */
  list(): string[] {
    return [...this.sessions.keys()];
  }
}
