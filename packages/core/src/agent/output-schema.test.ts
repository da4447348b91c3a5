// The run's output schema: the final answer parsed, validated and typed; re-asked within a
// budget; constrained token by token on a model that can (the tiny in-process Mllama, whose
// random weights could never write valid JSON on their own).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OnnxModel, writeTinyCheckpoint } from '@lookout/runtime';
import { ScriptedModel, say } from '../testing/index.js';
import { Agent } from './agent.js';
import { outputFormat } from './output-schema.js';

const Verdict = z.object({ refundable: z.boolean(), reason: z.string(), amount: z.number().nonnegative() });

describe('Agent output schema', () => {
  it('gives the validated, typed answer as result.output (a fenced json block is accepted)', async () => {
    const agent = new Agent({ model: new ScriptedModel({ steps: [say('```json\n{"refundable":true,"reason":"cracked","amount":82}\n```')] }) });
    const result = await agent.run('Can I get a refund?', { output: Verdict });
    const typed: { refundable: boolean; amount: number } = result.output;
    expect(typed).toEqual({ refundable: true, reason: 'cracked', amount: 82 });
  });

  it('re-asks an answer that fails the schema, telling the model the issues', async () => {
    const model = new ScriptedModel({ steps: [say('{"refundable":"yes","reason":"cracked"}'), say('{"refundable":true,"reason":"cracked","amount":0}')] });
    const agent = new Agent({ model });
    const result = await agent.run('Refund?', { output: Verdict });
    expect(result.output).toEqual({ refundable: true, reason: 'cracked', amount: 0 });
    const correction = JSON.stringify(model.requests[1]!.messages!.at(-1));
    expect(correction).toContain('refundable');
    expect(correction).toContain('amount');
    expect(result.steps).toBe(2);
  });

  it('fails with OutputValidationFailed once the budget is spent, keeping the audit', async () => {
    const model = new ScriptedModel({ steps: [say('not json')], whenExhausted: 'repeat-last' });
    const agent = new Agent({ model, outputRetryBudget: 1 });
    await expect(agent.run('Refund?', { output: Verdict, sessionId: 's' })).rejects.toMatchObject({ code: 'agent-invalid-output', budget: 1 });
    expect(model.requests).toHaveLength(2);
    expect((await agent.sessions.load('s')).turns[0]).toMatchObject({ status: 'error', error: { code: 'agent-invalid-output' } });
    expect(() => new Agent({ model, outputRetryBudget: -1 })).toThrow(/outputRetryBudget/);
  });

  it('leaves bounds, lengths and patterns out of the decode-time constraint (checked after), keeping property names', () => {
    const format = outputFormat(z.object({ pattern: z.string().regex(/^A-/), amount: z.number().min(0).max(10), tags: z.array(z.string().max(5)).max(3) }));
    const text = JSON.stringify(format);
    expect(text).not.toMatch(/"(minimum|maximum|maxLength|maxItems)"/);
    expect(format).toMatchObject({ type: 'json_schema', schema: { properties: { pattern: { type: 'string' }, amount: { type: 'number' }, tags: { type: 'array' } } } });
    expect((format as unknown as { schema: { properties: { pattern: Record<string, unknown> } } }).schema.properties.pattern.pattern).toBeUndefined();
  });

  it('constrains decoding on a model that can: random weights answer valid JSON first time', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'agent-output-'));
    await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 5 });
    const model = await OnnxModel.load(dir);
    try {
      // Shape, types and enums are enforced token by token; bounds (nonnegative) are checked after.
      const Shape = z.object({ refundable: z.boolean(), reason: z.string(), amount: z.number(), channel: z.enum(['mail', 'chat']) });
      const agent = new Agent({ model, outputRetryBudget: 0, sampling: { maxTokens: 80, temperature: 0.7, seed: 1 } });
      for (const question of ['Is my cracked pan refundable?', 'What about the mug?']) {
        const result = await agent.run(question, { output: Shape });
        expect(Shape.safeParse(result.output).success).toBe(true);
      }
      expect(model.capabilities.structuredOutput).toBe(true);
    } finally {
      await model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
