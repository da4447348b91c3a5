import { LookoutError } from '@lookout/tools';

/** Stable codes for errors raised while connecting to an MCP server or reading its tools. */
export type McpErrorCode = 'mcp-invalid-options' | 'mcp-connect-failed' | 'mcp-list-failed';

/** Base of the MCP adapter's errors; `code` is stable. */
export class McpAdapterError extends LookoutError<McpErrorCode> {}
