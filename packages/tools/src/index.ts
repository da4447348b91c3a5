// Public surface of @lookout/tools.
export * from './types.js';
export * from './errors.js';
export * from './result.js';
export { defineTool, toToolSpec, assertToolName } from './define.js';
export { defineJsonSchemaTool, compileArgumentsSchema } from './json-schema.js';
export { formatIssuePath, formatIssues } from './issues.js';
export type { ToolCallProgress, ToolRunHooks, ToolRunOutcome } from './call-progress.js';
export { ToolRunner, type ToolRunnerOptions, type PreparedCall, type RejectedCall, type ExecuteOptions } from './runner.js';
// The zod instance tools are validated with, for callers without their own zod dependency.
export { z } from 'zod';
