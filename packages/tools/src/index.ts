// Public surface of @lookout/tools.
export type {
  ToolSpec,
  ToolCallRequest,
  ToolContext,
  ApprovalRule,
  ToolDefinition,
  Tool,
  ArgumentCheck,
  JsonSchemaToolDefinition,
  AnyTool,
} from './types.js';
export { LookoutError, ToolError, ToolDefinitionError, ToolValidationBudgetExceeded } from './errors.js';
export type { ToolErrorCode } from './errors.js';
export { withImages, isToolOutputWithImages, errorResult } from './result.js';
export type { ToolResult, ToolOutputWithImages } from './result.js';
export { defineTool, toToolSpec, assertToolName } from './define.js';
export { defineJsonSchemaTool, compileArgumentsSchema } from './json-schema.js';
export { formatIssuePath, formatIssues } from './issues.js';
export type { ToolCallProgress, ToolRunHooks, ToolRunOutcome } from './call-progress.js';
export { ToolRunner, type ToolRunnerOptions, type PreparedCall, type RejectedCall, type ExecuteOptions } from './runner.js';
// The zod instance tools are validated with, for callers without their own zod dependency.
export { z } from 'zod';
