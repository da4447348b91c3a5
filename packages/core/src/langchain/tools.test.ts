import { describe, expect, it } from 'vitest';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { defineTool, ToolRunner } from '@lookout/tools';
import { fromLangChainTool, toLangChainTool } from './tools.js';

describe('tools both ways', () => {
  it('runs a LangChain tool as a Lookout tool with its zod schema intact', async () => {
    const schema = z.object({ orderId: z.string().regex(/^A\d+$/), reason: z.enum(['damaged', 'late']) });
    const lc = tool(async ({ orderId, reason }) => `refund queued for ${orderId} (${reason})`, { name: 'refund', description: 'Queue a refund', schema });
    const lookout = fromLangChainTool(lc, { timeoutMs: 1000 });
    expect(lookout.input).toBe(schema);
    expect(lookout.spec).toMatchObject({ name: 'refund', description: 'Queue a refund', parameters: { type: 'object', required: ['orderId', 'reason'] } });
    const runner = new ToolRunner([lookout]);
    const ok = runner.prepare({ id: 'c1', name: 'refund', arguments: { orderId: 'A17', reason: 'damaged' } });
    expect(ok.ok).toBe(true);
    if (ok.ok) expect((await runner.execute(ok, { context: undefined })).content).toContain('refund queued for A17 (damaged)');
    const bad = runner.prepare({ id: 'c2', name: 'refund', arguments: { orderId: 'X', reason: 'bored' } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.result.content).toMatch(/orderId|reason/);
  });

  it('converts a LangChain tool with a JSON Schema into zod', async () => {
    const lc = tool(async (args: { q: string }) => `found ${args.q}`, {
      name: 'search',
      description: 'Search',
      schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
    });
    const lookout = fromLangChainTool(lc);
    expect(lookout.input.safeParse({ q: 'x' }).success).toBe(true);
    expect(lookout.input.safeParse({}).success).toBe(false);
  });

  it('runs a Lookout tool as a LangChain tool: same schema, validation, context and output checks', async () => {
    const input = z.object({ sku: z.string().min(3), qty: z.number().int().positive() });
    const seen: unknown[] = [];
    const stock = defineTool({
      name: 'check_stock',
      description: 'Stock for a SKU',
      input,
      output: z.object({ available: z.number() }),
      execute: ({ sku, qty }, ctx) => {
        seen.push(ctx.context);
        return { available: sku === 'MUG' ? 10 - qty : -1 };
      },
    });
    const lc = toLangChainTool(stock);
    expect(lc.name).toBe('check_stock');
    expect(lc.schema).toBe(input);
    expect(await lc.invoke({ sku: 'MUG', qty: 3 }, { configurable: { context: { customer: 'c-1' } } })).toBe('{"available":7}');
    expect(seen).toEqual([{ customer: 'c-1' }]);
    await expect(lc.invoke({ sku: 'M', qty: 0 } as never)).rejects.toThrow();
  });

  it('applies the Lookout tool timeout inside LangChain', async () => {
    const slow = defineTool({
      name: 'slow',
      description: 'Never answers in time',
      input: z.object({}),
      timeoutMs: 30,
      execute: (_a, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    const out = await toLangChainTool(slow).invoke({});
    expect(String(out)).toMatch(/time|30/i);
  });
});
