import type { SessionSnapshot, SessionStore, TurnRecord } from './types.js';

/** Keeps sessions in process memory; turns are deep-copied so later mutation cannot reach them. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, TurnRecord[]>();

  async load(sessionId: string): Promise<SessionSnapshot> {
    const turns = this.sessions.get(sessionId) ?? [];
    return { sessionId, turns: structuredClone(turns), skippedLines: 0 };
  }

  async appendTurn(sessionId: string, turn: TurnRecord): Promise<void> {
    const turns = this.sessions.get(sessionId) ?? [];
    turns.push(structuredClone(turn));
    this.sessions.set(sessionId, turns);
  }

  /** Ids of every session held. */
  list(): string[] {
    return [...this.sessions.keys()];
  }
}
