import type { z } from 'zod';

/**
 * The tool description a model receives. Structurally identical to runtime's ToolSpec;
 * tools does not import runtime (see the dependency direction in DESIGN.md).
 */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A tool call as the model produced it (same shape as runtime's ToolCall). */
export interface ToolCallRequest {
  id: string;
  name: string;
  /** Parsed JSON arguments; a JSON string is accepted and parsed too. */
  arguments: unknown;
}

/** Everything a tool's execute() and needsApproval() get besides their arguments. */
export interface ToolContext<C = unknown> {
  /** Aborted when the tool times out or the run is cancelled. */
  signal: AbortSignal;
  /** The run's user-supplied context object (e.g. the signed-in customer). */
  context: C;
  toolCallId: string;
  /**
   * Stable for one tool call across pause, resume and crash recovery (the run id and the call
   * id). A tool with a side effect stores it with the effect, so a repeated request is refused.
   */
  idempotencyKey: string;
}

export type ApprovalRule<A, C> = boolean | ((args: A, ctx: ToolContext<C>) => boolean | Promise<boolean>);

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType, C = any> {
  name: string;
  description: string;
  input: I;
  output?: O;
  execute(args: z.output<I>, ctx: ToolContext<C>): Promise<z.input<O>> | z.input<O>;
  /** Milliseconds before ctx.signal is aborted and the call reported as timed out. */
  timeoutMs?: number;
  needsApproval?: ApprovalRule<z.output<I>, C>;
  /** Longest serialised output handed back to the model (characters). */
  maxOutputChars?: number;
  /**
   * Asked after a crash, for a call whose execution had started but whose result was never
   * recorded: look the effect up by `ctx.idempotencyKey`. Return `{ output }` when it happened
   * (the output is used as the call's result), `null` when it provably did not (the call then
   * runs). Without `recover` such a call is never run again: it answers `tool-outcome-unknown`.
   */
  recover?(args: z.output<I>, ctx: ToolContext<C>): Promise<{ output: z.input<O> } | null> | { output: z.input<O> } | null;
}

/** A defined tool: its definition plus the JSON Schema spec derived from the zod input. */
export interface Tool<I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType, C = any>
  extends ToolDefinition<I, O, C> {
  readonly spec: ToolSpec;
  /**
   * Set on tools whose arguments are checked against a JSON Schema (`defineJsonSchemaTool`)
   * instead of `input`: the runner validates with this, and `input` accepts any object.
   */
  readonly checkArguments?: (args: unknown) => ArgumentCheck;
}

/** What a JSON Schema check of a call's arguments found: the arguments, or one line per issue. */
export type ArgumentCheck = { success: true; data: unknown } | { success: false; issues: string[] };

/**
 * A tool described by a JSON Schema rather than zod (e.g. one offered by an MCP server): the
 * schema is what the model receives and what the arguments are validated against.
 */
export interface JsonSchemaToolDefinition<C = any> {
  name: string;
  description: string;
  /** A JSON Schema for the arguments object (draft 2020-12 or draft-07). */
  parameters: Record<string, unknown>;
  execute(args: Record<string, unknown>, ctx: ToolContext<C>): Promise<unknown> | unknown;
  timeoutMs?: number;
  needsApproval?: ApprovalRule<Record<string, unknown>, C>;
  maxOutputChars?: number;
  recover?(args: Record<string, unknown>, ctx: ToolContext<C>): Promise<{ output: unknown } | null> | { output: unknown } | null;
}

// Tools of any input/output/context types, as held in a list.
export type AnyTool = Tool<any, any, any>;
