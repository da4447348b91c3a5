/**
 * Base of every error the Lookout packages throw: `code` is stable (callers branch on it, never on
 * the message), `cause` passes through to Error's, `name` is the class name. A family of errors
 * names its codes as the type argument: `class ImageError extends LookoutError<ImageErrorCode> {}`.
 * Lives here, in the lowest package, with no imports: `@lookout/tools/errors` loads only this file.
 */
export class LookoutError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Stable codes for everything that can go wrong around a tool call. */
export type ToolErrorCode =
  | 'tool-invalid-name'
  | 'tool-unknown'
  | 'tool-malformed-arguments'
  | 'tool-invalid-arguments'
  | 'tool-execution-failed'
  | 'tool-timeout'
  | 'tool-aborted'
  | 'tool-invalid-output'
  | 'tool-output-too-large'
  | 'tool-unserialisable-output'
  | 'tool-outcome-unknown'
  | 'tool-validation-budget-exceeded'
  | 'tool-duplicate-name'
  /** A JSON Schema tool's schema cannot be compiled. */
  | 'tool-invalid-schema'
  /** The service behind the tool cannot be reached (e.g. its MCP server closed the connection). */
  | 'tool-unavailable';

export class ToolError extends LookoutError<ToolErrorCode> {}

/** A tool definition that cannot be used (bad name, duplicate name). */
export class ToolDefinitionError extends ToolError {
  constructor(code: 'tool-invalid-name' | 'tool-duplicate-name' | 'tool-invalid-schema', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The model kept producing invalid tool calls after its retry budget was spent. */
export class ToolValidationBudgetExceeded extends ToolError {
  constructor(
    readonly budget: number,
    readonly lastProblem: string,
  ) {
    super(
      'tool-validation-budget-exceeded',
      `The model made more invalid tool calls than the retry budget allows (budget ${budget}); last problem: ${lastProblem}`,
    );
  }
}
