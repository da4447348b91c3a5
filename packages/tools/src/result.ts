import type { ToolErrorCode } from './errors.js';

/** What goes back to the model for one tool call, successful or not. */
export interface ToolResult {
  toolCallId: string;
  name: string;
  /** Text handed to the model as the tool message. */
  content: string;
  isError: boolean;
  /** Set when isError. */
  code?: ToolErrorCode;
  /** The validated output value on success. */
  output?: unknown;
  latencyMs: number;
}

export function errorResult(
  toolCallId: string,
  name: string,
  code: ToolErrorCode,
  content: string,
  latencyMs = 0,
): ToolResult {
  return { toolCallId, name, content, isError: true, code, latencyMs };
}
