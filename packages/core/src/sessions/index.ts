export { sessionMessages, sessionAudit } from './types.js';
export type {
  VerdictAuditEntry,
  ToolCallStatus,
  ToolCallAuditEntry,
  AuditEntry,
  TurnStatus,
  TurnRecord,
  SessionSnapshot,
  AppendTurnOptions,
  SessionStore,
} from './types.js';
export { MemorySessionStore } from './memory.js';
export { FileSessionStore } from './file.js';
export { toStorableMessages } from './storable.js';
