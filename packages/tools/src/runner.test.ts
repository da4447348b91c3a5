import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from './define.js';
import { ToolDefinitionError, ToolValidationBudgetExceeded } from './errors.js';
import { ToolRunner } from './runner.js';
import type { ToolCallProgress } from './call-progress.js';

const order = defineTool({
  name: 'place_order',
  description: 'Place an order',
  input: z.object({ items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })) }),
  output: z.object({ orderId: z.string() }),
  execute: async (args) => ({ orderId: `o-${args.items.length}` }),
});

const call = (args: unknown, name = 'place_order', id = 'c1') => ({ id, name, arguments: args });

describe('defineTool', () => {
  it('derives the JSON Schema from zod', () => {
    expect(order.spec.name).toBe('place_order');
    const params = order.spec.parameters as any;
    expect(params.type).toBe('object');
    expect(params.properties.items.items.properties.quantity.type).toBe('integer');
    expect(params.required).toEqual(['items']);
    expect(params.$schema).toBeUndefined();
  });

  it('rejects names a model format cannot carry', () => {
    expect(() => defineTool({ name: 'bad name!', description: '', input: z.object({}), execute: () => 1 })).toThrow(
      ToolDefinitionError,
    );
  });

  it('rejects duplicate names in a runner', () => {
    expect(() => new ToolRunner([order, order])).toThrow(/unique/);
  });
});

describe('ToolRunner validation', () => {
  it('lists the exact issue paths and messages', () => {
    const runner = new ToolRunner([order]);
    const r = runner.prepare(call({ items: [{ sku: 7, quantity: '2' }] }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.result.code).toBe('tool-invalid-arguments');
    expect(r.result.content).toContain('items[0].sku: expected string, received number');
    expect(r.result.content).toContain('items[0].quantity: expected number, received string');
  });

  it('parses JSON string arguments and reports malformed JSON', () => {
    const runner = new ToolRunner([order], { retryBudget: 5 });
    const good = runner.prepare(call('{"items":[{"sku":"a","quantity":1}]}'));
    expect(good.ok).toBe(true);
    const bad = runner.prepare(call('{"items": ['));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.result.code).toBe('tool-malformed-arguments');
  });

  it('answers an unknown tool with the list of known tools', () => {
    const runner = new ToolRunner([order]);
    const r = runner.prepare(call({}, 'refund'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.result.code).toBe('tool-unknown');
      expect(r.result.content).toContain('place_order');
    }
  });

  it('throws a typed error once the retry budget is spent', () => {
    const runner = new ToolRunner([order], { retryBudget: 2 });
    expect(runner.prepare(call({})).ok).toBe(false);
    expect(runner.rejectMalformed('x', '<|python_tag|>{', 'unexpected end').ok).toBe(false);
    let thrown: unknown;
    try {
      runner.prepare(call({}));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ToolValidationBudgetExceeded);
    expect((thrown as ToolValidationBudgetExceeded).code).toBe('tool-validation-budget-exceeded');
  });
});

describe('ToolRunner execution', () => {
  const run = async (tool: any, args: unknown = {}, signal?: AbortSignal) => {
    const runner = new ToolRunner([tool]);
    const prepared = runner.prepare(call(args, tool.name));
    if (!prepared.ok) throw new Error(prepared.result.content);
    return runner.execute(prepared, { context: { user: 'u1' }, signal });
  };

  it('executes and serialises validated output, passing context and id', async () => {
    let seen: any;
    const tool = defineTool({
      name: 'who',
      description: '',
      input: z.object({}),
      execute: (_a, ctx) => {
        seen = ctx;
        return { user: (ctx.context as any).user };
      },
    });
    const r = await run(tool);
    expect(r.isError).toBe(false);
    expect(JSON.parse(r.content)).toEqual({ user: 'u1' });
    expect(seen.toolCallId).toBe('c1');
    expect(seen.signal).toBeInstanceOf(AbortSignal);
  });

  it('aborts the signal on timeout and reports it', async () => {
    let signal: AbortSignal | undefined;
    const tool = defineTool({
      name: 'slow',
      description: '',
      input: z.object({}),
      timeoutMs: 30,
      execute: (_a, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {}); // never settles, ignores the signal
      },
    });
    const r = await run(tool);
    expect(r.code).toBe('tool-timeout');
    expect(signal?.aborted).toBe(true);
  });

  it('turns a throwing tool into an error result', async () => {
    const tool = defineTool({ name: 'boom', description: '', input: z.object({}), execute: () => { throw new Error('db down'); } });
    const r = await run(tool);
    expect(r.code).toBe('tool-execution-failed');
    expect(r.content).toContain('db down');
  });

  it('rejects output that fails the output schema', async () => {
    const tool = defineTool({ name: 'o', description: '', input: z.object({}), output: z.object({ n: z.number() }), execute: () => ({ n: 'x' }) as any });
    const r = await run(tool);
    expect(r.code).toBe('tool-invalid-output');
    expect(r.content).toContain('n: expected number');
  });

  it('withholds oversized output', async () => {
    const tool = defineTool({ name: 'big', description: '', input: z.object({}), maxOutputChars: 10, execute: () => 'x'.repeat(11) });
    const r = await run(tool);
    expect(r.code).toBe('tool-output-too-large');
    expect(r.content).not.toContain('xxxxxxxxxxx');
  });

  it('reports unserialisable output', async () => {
    const cyclic: any = {};
    cyclic.self = cyclic;
    const tool = defineTool({ name: 'cyc', description: '', input: z.object({}), execute: () => cyclic });
    expect((await run(tool)).code).toBe('tool-unserialisable-output');
  });

  it('reports cancellation by the run signal', async () => {
    const ac = new AbortController();
    const tool = defineTool({ name: 'wait', description: '', input: z.object({}), execute: () => new Promise(() => {}) });
    setTimeout(() => ac.abort(), 10);
    expect((await run(tool, {}, ac.signal)).code).toBe('tool-aborted');
  });

  it('evaluates needsApproval rules with the arguments', async () => {
    const tool = defineTool({
      name: 'refund',
      description: '',
      input: z.object({ amount: z.number() }),
      needsApproval: (args) => args.amount > 100,
      execute: () => 'ok',
    });
    const runner = new ToolRunner([tool]);
    const small = runner.prepare(call({ amount: 5 }, 'refund'));
    const large = runner.prepare(call({ amount: 500 }, 'refund'));
    if (!small.ok || !large.ok) throw new Error('unexpected');
    expect(await runner.needsApproval(small, { context: null })).toBe(false);
    expect(await runner.needsApproval(large, { context: null })).toBe(true);
    const failing = new ToolRunner([defineTool({ name: 'f', description: '', input: z.object({}), needsApproval: () => { throw new Error('db'); }, execute: () => 1 })]);
    const prepared = failing.prepare(call({}, 'f'));
    if (!prepared.ok) throw new Error('unexpected');
    expect(await failing.needsApproval(prepared, { context: null })).toBe(true);
  });
});

describe('ToolRunner.run (phases of one call)', () => {
  const effectTool = (effects: string[], extra: Partial<Parameters<typeof defineTool>[0]> = {}) =>
    defineTool({
      name: 'pay',
      description: 'Pay',
      input: z.object({ amount: z.number() }),
      execute: async (args: { amount: number }, ctx) => {
        effects.push(ctx.idempotencyKey);
        return { paid: args.amount };
      },
      ...extra,
    });

  it('stops for approval, then records the start before executing and the result after', async () => {
    const effects: string[] = [];
    const runner = new ToolRunner([effectTool(effects, { needsApproval: true })]);
    const progress: ToolCallProgress = { call: { id: 'c1', name: 'pay', arguments: { amount: 5 } } };
    const seen: string[] = [];
    const hooks = {
      context: null,
      idempotencyKey: 'run-1:c1',
      recordExecution: async (p: ToolCallProgress) => void seen.push(`start ${p.execution?.idempotencyKey} effects=${effects.length}`),
      recordResult: async (p: ToolCallProgress) => void seen.push(`result ${p.result?.content} effects=${effects.length}`),
    };
    expect(await runner.run(progress, hooks)).toEqual({ kind: 'awaiting-approval' });
    progress.approval = 'approved';
    const outcome = await runner.run(progress, hooks);
    expect(outcome).toMatchObject({ kind: 'executed', recovered: false, result: { content: '{"paid":5}' } });
    expect(seen).toEqual(['start run-1:c1 effects=0', 'result {"paid":5} effects=1']);
    // Run again from the same progress: the recorded result is returned, nothing executes.
    expect(await runner.run(progress, hooks)).toMatchObject({ kind: 'executed', recovered: true });
    expect(effects).toEqual(['run-1:c1']);
  });

  it('a started call without a recorded result is never executed again without recover', async () => {
    const effects: string[] = [];
    const runner = new ToolRunner([effectTool(effects)]);
    const progress: ToolCallProgress = { call: { id: 'c1', name: 'pay', arguments: { amount: 5 } }, args: { amount: 5 }, guarded: true, execution: { idempotencyKey: 'k', startedAt: '' } };
    const outcome = await runner.run(progress, { context: null, idempotencyKey: 'k' });
    expect(outcome).toMatchObject({ kind: 'executed', result: { isError: true, code: 'tool-outcome-unknown' } });
    expect(effects).toEqual([]);
  });

  it('a failing start record keeps the tool from running and leaves the call unstarted', async () => {
    const effects: string[] = [];
    const runner = new ToolRunner([effectTool(effects)]);
    const progress: ToolCallProgress = { call: { id: 'c1', name: 'pay', arguments: { amount: 5 } } };
    await expect(
      runner.run(progress, { context: null, idempotencyKey: 'k', recordExecution: async () => { throw new Error('disk full'); } }),
    ).rejects.toThrow('disk full');
    expect(effects).toEqual([]);
    expect(progress.execution).toBeUndefined();
  });

  it('a call check that refuses stops the call before the approval rule and execution', async () => {
    const effects: string[] = [];
    let asked = false;
    const runner = new ToolRunner([effectTool(effects, { needsApproval: () => (asked = true) })]);
    const progress: ToolCallProgress = { call: { id: 'c1', name: 'pay', arguments: '{"amount":5}' } };
    const refusal = { toolCallId: 'c1', name: 'pay', content: 'blocked', isError: true, latencyMs: 0 };
    expect(await runner.run(progress, { context: null, idempotencyKey: 'k', checkCall: async () => refusal })).toEqual({ kind: 'blocked', result: refusal });
    expect(asked).toBe(false);
    expect(effects).toEqual([]);
  });
});
