import { z } from 'zod';
import { ToolDefinitionError } from './errors.js';
import type { Tool, ToolDefinition, ToolSpec } from './types.js';

// Names the Llama tool-call format and OpenAI-style APIs both accept.
const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Declares a tool whose arguments are validated by a zod object schema. */
export function defineTool<I extends z.ZodObject, O extends z.ZodType = z.ZodType, C = any>(
  definition: ToolDefinition<I, O, C>,
): Tool<I, O, C> {
  assertToolName(definition.name);
  return Object.freeze({ ...definition, spec: toToolSpec(definition) });
}

/** Throws ToolDefinitionError (`tool-invalid-name`) for a name a model format cannot carry. */
export function assertToolName(name: string): void {
  if (!TOOL_NAME.test(name)) {
    throw new ToolDefinitionError(
      'tool-invalid-name',
      `Tool name "${name}" is not accepted: use 1-64 letters, digits, "_" or "-", starting with a letter or "_".`,
    );
  }
}

/** JSON Schema for the model, produced by zod itself (input side: what the model must send). */
export function toToolSpec(definition: Pick<ToolDefinition, 'name' | 'description' | 'input'>): ToolSpec {
  const schema = z.toJSONSchema(definition.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  // The draft marker is noise in a prompt; everything else is kept as zod wrote it.
  const { $schema: _drop, ...parameters } = schema;
  return { name: definition.name, description: definition.description, parameters };
}
