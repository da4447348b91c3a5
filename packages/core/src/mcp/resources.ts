import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Resource, Tool as McpToolInfo } from '@modelcontextprotocol/sdk/types.js';
import type { McpCallResult } from './content.js';
import { allPages } from './pages.js';

/** The server-side name of the tool that reads a server's resources (`<prefix>__read_resource`). */
export const READ_RESOURCE = 'read_resource';

/** Most resources offered (by URI) through the read tool; the rest are not readable through it. */
export const MAX_OFFERED_RESOURCES = 100;

/** Every resource the server lists, page by page. */
export function listAllResources(client: Client, timeout: number): Promise<Resource[]> {
  return allPages(async (cursor) => {
    const page = await client.listResources(cursor ? { cursor } : undefined, { timeout });
    return { items: page.resources, nextCursor: page.nextCursor };
  });
}

/**
 * The server's resources as one tool description, read like a server tool's: its name, the
 * resources' names and descriptions in its description (text the model reads, so it goes through
 * `descriptionGuards` too), and a `uri` parameter that accepts only the listed URIs, so the
 * model cannot make the server read anything else (the call is validated before it is sent).
 */
export function readResourceInfo(resources: Resource[]): McpToolInfo {
  const offered = resources.slice(0, MAX_OFFERED_RESOURCES);
  const lines = offered.map((r) => `- ${r.uri}: ${r.title ?? r.name}${r.description ? ` (${r.description})` : ''}`);
  return {
    name: READ_RESOURCE,
    description: `Read one of the server's resources by its URI. Resources:\n${lines.join('\n')}`,
    inputSchema: {
      type: 'object',
      properties: { uri: { type: 'string', enum: offered.map((r) => r.uri), description: 'The URI of the resource to read' } },
      required: ['uri'],
      additionalProperties: false,
    },
    annotations: { readOnlyHint: true },
  };
}

/** Reads a resource and hands back its contents as a tool result (text, images to the guards, binaries named). */
export async function readResourceResult(client: Client, uri: string, options: { signal: AbortSignal; timeout: number }): Promise<McpCallResult> {
  const { contents } = await client.readResource({ uri }, options);
  return { content: contents.map((resource) => ({ type: 'resource', resource: resource as Record<string, unknown> })) };
}
