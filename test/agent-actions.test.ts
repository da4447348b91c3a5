// The three per-guard actions exactly as docs/agents.md shows them, with the rule guards of
// @lookout/guards (no model files needed).
import { describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '@lookout/core';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { PatternGuard, PiiGuard } from '@lookout/guards';
import { defineTool, z } from '@lookout/tools';

describe('guard actions (docs/agents.md)', () => {
  it('block: a flagged reply is replaced by the refusal', async () => {
    const model = new ScriptedModel({ steps: [say('You should shop at MegaShop instead.')] });
    const agent = new Agent({
      model,
      guards: { output: [{ guard: new PatternGuard({ name: 'competitors', blocklist: ['MegaShop'] }), action: 'block' }] },
      refusal: 'Sorry, I cannot say that.',
    });
    const result = await agent.run('where else can I buy this?');
    expect(result.status).toBe('blocked');
    expect(result.text).toBe('Sorry, I cannot say that.');
    expect(result.blocked).toMatchObject({ stage: 'output', verdict: { guard: 'competitors', categories: ['pattern'] } });
  });

  it('redact: the model sees the tool result with the e-mail address replaced', async () => {
    const customer = defineTool({
      name: 'get_customer',
      description: 'Customer record',
      input: z.object({ id: z.string() }),
      execute: ({ id }) => `customer ${id}: Ann, ann@example.com`,
    });
    const model = new ScriptedModel({ steps: [[callTool('get_customer', { id: 'c1' })], say('Found Ann.')] });
    const agent = new Agent({ model, tools: [customer], guards: { toolResult: [{ guard: new PiiGuard(), action: 'redact' }] } });
    const events: AgentEvent[] = [];
    agent.on('tool-result', (e) => events.push(e));
    await agent.run('who is c1?');
    expect(events[0]).toMatchObject({ content: 'customer c1: Ann, [REDACTED:EMAIL]', flagged: true });
  });

  it('warn: the verdict is reported and audited, the turn goes on', async () => {
    const agent = new Agent({
      model: ScriptedModel.replying('Happy to help with your refund.'),
      guards: { input: [{ guard: new PatternGuard({ name: 'angry', blocklist: ['lawyer'] }), action: 'warn' }] },
    });
    const warnings: string[] = [];
    agent.on('guard-verdict', (e) => {
      if (!e.safe) warnings.push(`${e.stage}/${e.guard}: ${e.categories.join(',')}`);
    });
    const result = await agent.run('My lawyer will hear about this refund!');
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Happy to help with your refund.');
    expect(warnings).toEqual(['input/angry: pattern']);
    expect(result.audit.find((a) => a.kind === 'verdict')).toMatchObject({ action: 'warn', safe: false, guard: 'angry' });
  });
});
