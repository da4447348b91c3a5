import { describe, expect, it } from 'vitest';
import type { ModelEvent } from '@lookout/runtime';
import { ScriptedModel, callTool, say } from './scripted-model.js';

async function collect(stream: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

describe('ScriptedModel', () => {
  it('plays steps in order, records requests and finishes with the right reason', async () => {
    const model = new ScriptedModel({ steps: [[callTool('t', { a: 1 }, 'id1')], say('hello', { chunk: 2 })] });
    const first = await collect(model.stream({ messages: [{ role: 'user', content: 'q' }] }));
    expect(first[0]).toEqual({ type: 'tool-call', call: { id: 'id1', name: 't', arguments: { a: 1 } } });
    expect(first.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' });
    const second = await collect(model.stream({ messages: [{ role: 'user', content: 'q2' }] }));
    expect(second.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text)).toEqual(['he', 'll', 'o']);
    expect(second.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(model.requests.map((r) => r.messages?.[0])).toEqual([
      { role: 'user', content: 'q' },
      { role: 'user', content: 'q2' },
    ]);
  });

  it('computes a step from the request', async () => {
    const model = new ScriptedModel({ steps: [(req) => say(`echo ${(req.messages?.[0] as { content: string }).content}`, { chunk: 100 })] });
    const events = await collect(model.stream({ messages: [{ role: 'user', content: 'ping' }] }));
    expect(events[0]).toEqual({ type: 'text-delta', text: 'echo ping' });
  });

  it('honours the abort signal during delays', async () => {
    const model = new ScriptedModel({ steps: [[{ type: 'delay', ms: 5_000 }, { type: 'text', text: 'late' }]] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 10);
    const started = Date.now();
    await expect(collect(model.stream({ messages: [] }, { signal: ac.signal }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(model.aborted).toBe(1);
  });

  it('throws scripted errors and a typed error when exhausted', async () => {
    const model = new ScriptedModel({ steps: [[{ type: 'error', error: 'backend down' }]] });
    await expect(collect(model.stream({ messages: [] }))).rejects.toMatchObject({ code: 'scripted-model-error' });
    await expect(collect(model.stream({ messages: [] }))).rejects.toMatchObject({ code: 'scripted-model-exhausted' });
  });
});

describe('ScriptedModel usage', () => {
  it('counts output tokens for tool-only steps too', async () => {
    const model = new ScriptedModel({ steps: [[callTool('lookup_order', { orderId: 'A-1001' })]] });
    let finish: unknown;
    for await (const e of model.stream({ messages: [{ role: 'user', content: 'x' }] })) if (e.type === 'finish') finish = e;
    expect(finish).toMatchObject({ reason: 'tool-calls', usage: { outputTokens: expect.any(Number) } });
    expect((finish as { usage: { outputTokens: number } }).usage.outputTokens).toBeGreaterThan(0);
  });
});
