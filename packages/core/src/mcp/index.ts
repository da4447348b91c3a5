// MCP client tools: import from "@lookout/core/mcp".
export {
  mcpTools,
  type McpToolset,
  type McpTool,
  type McpToolsOptions,
  type McpServerSource,
  type McpStdioServer,
  type McpHttpServer,
  type McpToolDescription,
  type McpToolFlagged,
} from './tools.js';
export { convertResult, type McpCallResult } from './content.js';
export { McpAdapterError, type McpErrorCode } from './errors.js';
export { createGuardServer, injectionHeuristics, type GuardServerOptions } from './guard-server.js';
