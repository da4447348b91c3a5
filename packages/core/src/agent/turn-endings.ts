import type { ChatMessage } from '@lookout/runtime';
import { SessionConflictError } from '../errors.js';
import { toStorableMessages } from '../sessions/storable.js';
import type { TurnRecord, TurnStatus } from '../sessions/types.js';
import type { TurnScope } from './turn-scope.js';
import type { AgentResult, BlockInfo, PendingCall, RunState } from './types.js';

/**
 * How a turn ends: completed, blocked, paused for approval or failed. Each ending stores what
 * the session keeps (a paused turn stores nothing: its state travels with the approval) and
 * sends 'turn-end' or 'error'.
 */
export class TurnEndings {
  constructor(private readonly scope: TurnScope) {}

  async blocked(info: BlockInfo): Promise<AgentResult> {
    const { settings, state } = this.scope;
    const refusal = settings.refusal(info);
    this.scope.emit({ type: 'blocked', stage: info.stage, verdict: info.verdict, replacement: refusal });
    // Blocked input is not kept in the conversation; blocked output is replaced by the refusal.
    if (info.stage === 'input') state.conversation.length = state.turnStart;
    else state.conversation.push({ role: 'assistant', content: refusal });
    await this.store('blocked', state.conversation.slice(state.turnStart));
    const result: AgentResult = { ...this.resultBase(), status: 'blocked', text: refusal, blocked: info };
    this.scope.emit({ type: 'turn-end', result });
    return result;
  }

  /** `output`: the answer parsed and validated against the run's output schema, when it has one. */
  async completed(output?: unknown): Promise<AgentResult> {
    const { state } = this.scope;
    const messages = state.conversation.slice(state.turnStart);
    await this.store('completed', messages);
    const last = messages[messages.length - 1];
    const result: AgentResult = { ...this.resultBase(), status: 'completed', text: last?.role === 'assistant' ? last.content : '', ...(output !== undefined ? { output } : {}) };
    this.scope.emit({ type: 'turn-end', result });
    return result;
  }

  paused(p: PendingCall): AgentResult {
    const state = this.snapshot();
    const pendingApproval = { toolCallId: p.call.id, name: p.call.name, arguments: p.args };
    this.scope.emit({ type: 'approval-requested', ...pendingApproval, state });
    const result: AgentResult = { ...this.resultBase(), status: 'awaiting-approval', text: '', pendingApproval, state };
    this.scope.emit({ type: 'turn-end', result });
    return result;
  }

  /**
   * The turn failed. Its audit is always kept. Its messages are kept (`keepMessages`) when a
   * tool was executed in it (the effect happened, so the conversation records it) or when it
   * continued a paused run; otherwise the turn did not happen as far as the conversation goes.
   *
   * Lost to another writer of the session (SessionConflictError): a turn that keeps its
   * messages is still stored, after the winner's turn, so the record of its effect survives;
   * any other turn stores nothing, and the caller retries on the newer conversation.
   */
  async failed(error: Error, keepMessages: boolean): Promise<void> {
    const { state } = this.scope;
    this.scope.emit({ type: 'error', error });
    if (error instanceof SessionConflictError && !keepMessages) return;
    const { code } = error as Error & { code?: unknown };
    await this.store('error', keepMessages ? state.conversation.slice(state.turnStart) : [], { code: typeof code === 'string' ? code : 'error', message: error.message }, keepMessages);
  }

  /** The run state as plain JSON (images as data: URLs). */
  snapshot(): RunState {
    const copy = structuredClone(this.scope.state);
    copy.conversation = toStorableMessages(copy.conversation);
    return JSON.parse(JSON.stringify(copy)) as RunState;
  }

  private resultBase(): Omit<AgentResult, 'status' | 'text'> {
    const { state } = this.scope;
    return {
      runId: state.runId,
      turnId: state.turnId,
      sessionId: state.sessionId,
      messages: toStorableMessages(state.conversation.slice(state.turnStart)),
      steps: state.step,
      usage: { ...state.usage },
      audit: [...state.audit],
    };
  }

  /**
   * Appends the turn against the session version it was built on. With `rebase` (a turn whose
   * effects must stay on record) a conflict appends it after the newer turns instead, unless the
   * turn is already there.
   */
  private async store(status: TurnStatus, messages: ChatMessage[], error?: TurnRecord['error'], rebase = false): Promise<void> {
    const { state, settings } = this.scope;
    const record: TurnRecord = {
      turnId: state.turnId,
      runId: state.runId,
      startedAt: state.startedAt,
      endedAt: new Date().toISOString(),
      status,
      messages: toStorableMessages(messages),
      audit: state.audit,
      ...(error ? { error } : {}),
    };
    let expectedVersion = this.scope.run.sessionVersion;
    for (let attempt = 1; ; attempt++) {
      try {
        await settings.sessions.appendTurn(state.sessionId, record, expectedVersion === undefined ? undefined : { expectedVersion });
        return;
      } catch (cause) {
        if (!rebase || !(cause instanceof SessionConflictError) || attempt >= 5) throw cause;
        const latest = await settings.sessions.load(state.sessionId);
        if (latest.turns.some((t) => t.turnId === state.turnId)) return;
        expectedVersion = latest.version;
      }
    }
  }
}
