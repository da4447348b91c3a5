import { describe, expect, it } from 'vitest';
import { ToolDefinitionError, ToolError } from './errors.js';
import { defineJsonSchemaTool } from './json-schema.js';
import { withImages } from './result.js';
import { ToolRunner } from './runner.js';

const received: unknown[] = [];
const order = defineJsonSchemaTool({
  name: 'place_order',
  description: 'Place an order',
  parameters: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } }, required: ['sku', 'quantity'] } },
      speed: { enum: ['standard', 'express'] },
      email: { type: 'string', format: 'email' },
    },
    required: ['items'],
    additionalProperties: false,
  },
  execute: (args) => {
    received.push(args);
    return { orderId: 'o-1' };
  },
});

const call = (args: unknown, id = 'c1') => ({ id, name: 'place_order', arguments: args });

describe('defineJsonSchemaTool', () => {
  it('hands the schema to the model as written, without the dialect marker', () => {
    expect(order.spec.parameters.$schema).toBeUndefined();
    expect((order.spec.parameters as any).properties.items.type).toBe('array');
  });

  it('lists exact issue paths as the zod path does', () => {
    const runner = new ToolRunner([order], { retryBudget: 10 });
    const r = runner.prepare(call({ items: [{ sku: 7, quantity: 0 }, { quantity: 1 }], speed: 'now', extra: 1, email: 'nope' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.result.code).toBe('tool-invalid-arguments');
    const text = r.result.content;
    expect(text).toContain('items[0].sku: expected string, received number');
    expect(text).toContain('items[0].quantity: must be >= 1');
    expect(text).toContain('items[1].sku: required property is missing');
    expect(text).toContain('speed: expected one of "standard", "express"');
    expect(text).toContain('extra: unrecognized property');
    expect(text).toContain('email: must match format "email"');
  });

  it('runs valid calls through ToolRunner like a zod tool', async () => {
    const runner = new ToolRunner([order]);
    const prepared = runner.prepare(call({ items: [{ sku: 'a', quantity: 2 }] }));
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    const result = await runner.execute(prepared, { context: null });
    expect(result).toMatchObject({ isError: false, content: '{"orderId":"o-1"}' });
    expect(received).toEqual([{ items: [{ sku: 'a', quantity: 2 }] }]);
  });

  it('accepts draft-07 schemas', () => {
    const tool = defineJsonSchemaTool({
      name: 'old',
      description: '',
      parameters: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
      execute: () => 1,
    });
    expect(tool.checkArguments!({ n: 1 }).success).toBe(true);
    expect(tool.checkArguments!({ n: 'x' })).toEqual({ success: false, issues: ['n: expected number, received string'] });
  });

  it('refuses a schema that cannot be compiled with a typed error', () => {
    let thrown: unknown;
    try {
      defineJsonSchemaTool({ name: 'bad', description: '', parameters: { type: 'object', properties: { a: { $ref: '#/nowhere' } } }, execute: () => 1 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ToolDefinitionError);
    expect((thrown as ToolDefinitionError).code).toBe('tool-invalid-schema');
  });

  it('carries images to the result and maps tool-unavailable errors', async () => {
    const pic = defineJsonSchemaTool({ name: 'pic', description: '', parameters: { type: 'object' }, execute: () => withImages('a chart', ['data:image/png;base64,AAAA']) });
    const gone = defineJsonSchemaTool({
      name: 'gone',
      description: '',
      parameters: { type: 'object' },
      execute: () => {
        throw new ToolError('tool-unavailable', 'The server closed the connection.');
      },
    });
    const runner = new ToolRunner([pic, gone]);
    const a = runner.prepare({ id: 'a', name: 'pic', arguments: {} });
    const b = runner.prepare({ id: 'b', name: 'gone', arguments: {} });
    if (!a.ok || !b.ok) throw new Error('unexpected rejection');
    expect(await runner.execute(a, { context: null })).toMatchObject({ content: 'a chart', images: ['data:image/png;base64,AAAA'] });
    expect(await runner.execute(b, { context: null })).toMatchObject({ isError: true, code: 'tool-unavailable' });
  });
});
