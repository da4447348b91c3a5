// The agent loop with the rule guards from @lookout/guards (no model files needed).
import { describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '@lookout/core';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { PatternGuard, PiiGuard } from '@lookout/guards';
import { defineTool, z } from '@lookout/tools';

const customer = defineTool({
  name: 'get_customer',
  description: 'Customer record',
  input: z.object({ id: z.string() }),
  execute: ({ id }) => `customer ${id}: Ann, ann@example.com, card 4111 1111 1111 1111`,
});

describe('agent with rule guards', () => {
  it('PiiGuard in redact mode scrubs tool results before the model sees them', async () => {
    const model = new ScriptedModel({ steps: [[callTool('get_customer', { id: 'c1' })], say('Found Ann.')] });
    const agent = new Agent({ model, tools: [customer], guards: { toolResult: [new PiiGuard({ action: 'redact' })] } });
    const result = await agent.run('who is c1?');
    const seen = JSON.stringify(model.requests[1].messages);
    expect(seen).not.toContain('ann@example.com');
    expect(seen).not.toContain('4111 1111 1111 1111');
    expect(seen).toContain('[REDACTED:EMAIL]');
    expect(JSON.stringify(result)).not.toContain('ann@example.com');
  });

  it('PiiGuard in block mode with the loop action "redact" redacts by its spans', async () => {
    const model = new ScriptedModel({ steps: [say('ok'), say('ok')] });
    const agent = new Agent({ model, guards: { input: [{ guard: new PiiGuard(), action: 'redact' }] } });
    const result = await agent.run('my mail is ann@example.com');
    expect(result.status).toBe('completed');
    expect(JSON.stringify(model.requests.at(-1)!.messages)).not.toContain('ann@example.com');
    expect(JSON.stringify(await agent.history(result.sessionId))).not.toContain('ann@example.com');
  });

  it('a PatternGuard blocklist on output keeps the flagged reply out of every event', async () => {
    const model = new ScriptedModel({ steps: [say('Our competitor MegaShop is cheaper, honestly.', { chunk: 5 })] });
    const agent = new Agent({ model, guards: { output: [new PatternGuard({ blocklist: ['MegaShop'] })] }, outputChunkChars: 12 });
    const events: AgentEvent[] = [];
    for await (const e of agent.stream('price?')) events.push(e);
    expect(JSON.stringify(events)).not.toContain('MegaShop');
    expect(events.find((e) => e.type === 'blocked')).toMatchObject({ stage: 'output' });
  });
});
