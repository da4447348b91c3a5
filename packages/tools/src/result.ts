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
  /**
   * Images the tool returned (as data: URLs, so a stored run state stays plain JSON). They
   * reach the tool-result guards with the text; the model reads only `content`.
   */
  images?: string[];
}

const WITH_IMAGES = Symbol.for('lookout.tool-output-with-images');

/** A tool output that carries images besides its value (see `withImages`). */
export interface ToolOutputWithImages {
  readonly [WITH_IMAGES]: true;
  readonly value: unknown;
  readonly images: string[];
}

/**
 * Returned from `execute`: `value` becomes the result as usual and `images` (data: URLs) go
 * with it to the tool-result guards.
 */
export function withImages(value: unknown, images: string[]): ToolOutputWithImages {
  return { [WITH_IMAGES]: true, value, images };
}

export function isToolOutputWithImages(output: unknown): output is ToolOutputWithImages {
  return typeof output === 'object' && output !== null && (output as Record<symbol, unknown>)[WITH_IMAGES] === true;
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
