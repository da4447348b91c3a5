import { tool as langchainTool, type StructuredToolInterface } from '@langchain/core/tools';
import { defineTool, ToolRunner, z, type AnyTool, type Tool } from '@lookout/tools';
import { UnsupportedContentError } from './errors.js';

type ZodObjectLike = z.ZodObject;

const isZodObject = (schema: unknown): schema is ZodObjectLike => schema instanceof z.ZodObject;

/**
 * A LangChain tool as a Lookout tool. A zod object schema is kept as it is; a JSON Schema is
 * turned into zod (z.fromJSONSchema) so the agent loop validates arguments either way.
 */
export function fromLangChainTool(lc: StructuredToolInterface, options: { timeoutMs?: number } = {}): Tool {
  const schema = lc.schema as unknown;
  let input: ZodObjectLike;
  if (isZodObject(schema)) input = schema;
  else if (schema && typeof schema === 'object' && (schema as { type?: unknown }).type === 'object') {
    const converted = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    if (!isZodObject(converted)) throw new UnsupportedContentError(`tool "${lc.name}": its JSON Schema did not convert to a zod object`);
    input = converted;
  } else throw new UnsupportedContentError(`tool "${lc.name}" needs a zod object schema or a JSON Schema of type "object" (string-input tools are not supported)`);
  return defineTool({
    name: lc.name,
    description: lc.description,
    input,
    timeoutMs: options.timeoutMs,
    async execute(args, ctx) {
      const out: unknown = await lc.invoke(args, { signal: ctx.signal });
      // A tool may answer with a ToolMessage; the model needs its content.
      if (out && typeof out === 'object' && 'content' in out) return (out as { content: unknown }).content;
      return out;
    },
  });
}

/**
 * A Lookout tool as a LangChain tool: the same zod schema, and the Lookout ToolRunner runs it so
 * timeouts, output validation and output limits behave exactly as inside a Lookout agent.
 * LangChain's `configurable.context` becomes the tool's ctx.context.
 */
export function toLangChainTool(tool: AnyTool) {
  const runner = new ToolRunner([tool], { retryBudget: Number.MAX_SAFE_INTEGER });
  return langchainTool(
    async (args: unknown, config?: { signal?: AbortSignal; toolCall?: { id?: string }; configurable?: Record<string, unknown> }) => {
      const prepared = runner.prepare({ id: config?.toolCall?.id ?? `call_${Date.now().toString(36)}`, name: tool.name, arguments: args });
      const result = prepared.ok ? await runner.execute(prepared, { context: config?.configurable?.context, signal: config?.signal }) : prepared.result;
      return result.content;
    },
    // A JSON Schema tool (e.g. from an MCP server) hands LangChain its schema; the runner validates.
    { name: tool.name, description: tool.description, schema: tool.checkArguments ? (tool.spec.parameters as never) : tool.input },
  );
}
