import { LookoutError } from '@lookout/tools';

/** Stable codes for errors raised by the agent loop, sessions and the test double. */
export type AgentErrorCode =
  | 'agent-max-steps'
  | 'agent-model-failed'
  | 'agent-aborted'
  | 'agent-invalid-state'
  | 'agent-invalid-input'
  | 'agent-listener-failed'
  | 'agent-invalid-output'
  | 'session-invalid-id'
  | 'session-io'
  | 'session-conflict'
  | 'session-invalid-version'
  | 'scripted-model-exhausted'
  | 'scripted-model-error';

export class AgentError extends LookoutError<AgentErrorCode> {}

/** The model kept calling tools past `maxSteps` without giving a final answer. */
export class MaxStepsExceeded extends AgentError {
  constructor(readonly maxSteps: number) {
    super('agent-max-steps', `The run took more than maxSteps (${maxSteps}) model steps without a final answer; raise maxSteps or check the tools.`);
  }
}

/** The model stream failed for a reason other than the loop aborting it. */
export class ModelStepFailed extends AgentError {
  constructor(modelId: string, cause: unknown) {
    super('agent-model-failed', `Model "${modelId}" failed during a step: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The final answer failed the run's output schema more often than outputRetryBudget allows. */
export class OutputValidationFailed extends AgentError {
  constructor(
    readonly budget: number,
    readonly issues: string,
    readonly text: string,
  ) {
    super('agent-invalid-output', `The model's final answer did not match the output schema after ${budget} ${budget === 1 ? 'retry' : 'retries'}: ${issues}`);
  }
}

/** The caller's AbortSignal ended the run. */
export class RunAborted extends AgentError {
  constructor(reason?: unknown) {
    super('agent-aborted', `The run was aborted by the caller${reason instanceof Error ? `: ${reason.message}` : ''}.`, { cause: reason });
  }
}

/** A RunState handed to resume() that this agent cannot continue. */
export class InvalidRunState extends AgentError {
  constructor(message: string) {
    super('agent-invalid-state', `Cannot resume: ${message}`);
  }
}

export class InvalidAgentInput extends AgentError {
  constructor(message: string) {
    super('agent-invalid-input', message);
  }
}

export class SessionError extends AgentError {
  constructor(code: 'session-invalid-id' | 'session-io' | 'session-conflict' | 'session-invalid-version', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Another writer appended to the session after this one loaded it: the turn was appended against
 * a version the session no longer has. Nothing of the turn was written; load the session again
 * (its newer turns included) and retry.
 */
export class SessionConflictError extends SessionError {
  constructor(
    readonly sessionId: string,
    readonly expectedVersion: number,
    /** The version the store holds now, where the store can tell. */
    readonly actualVersion?: number,
    options?: { cause?: unknown; message?: string },
  ) {
    super(
      'session-conflict',
      options?.message ??
        `Session "${sessionId}" changed while this turn ran: it was appended against version ${expectedVersion}, but the session is at ${
          actualVersion === undefined ? 'a newer version' : `version ${actualVersion}`
        }. Nothing of the turn was stored; load the session again and retry.`,
      options,
    );
  }
}
