import { randomUUID } from 'node:crypto';
import type { ToolCall } from '../model/types.js';
import type { ParsedToolCall } from './parse-tool-calls.js';

/** Llama writes no call ids; give each parsed call one that is unique within a conversation. */
export function assignToolCallIds(calls: readonly ParsedToolCall[], makeId: () => string = defaultId): ToolCall[] {
  return calls.map((call) => ({ id: makeId(), name: call.name, arguments: call.arguments }));
}

function defaultId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}
