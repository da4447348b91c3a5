// The independent tool calls of one model step run concurrently; their results keep call order.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Guard, GuardSubject } from '@lookout/guards';
import { defineTool } from '@lookout/tools';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { Agent } from './agent.js';
import type { AgentEvent } from './events.js';

/** A tool that waits `ms` and records how many of its calls were running at once. */
function waitTool(options: { approveAbove?: number } = {}) {
  const stats = { running: 0, maxRunning: 0, finished: [] as string[] };
  const tool = defineTool({
    name: 'wait',
    description: 'Waits, then echoes its tag',
    input: z.object({ tag: z.string(), ms: z.number() }),
    needsApproval: options.approveAbove === undefined ? undefined : (args) => args.ms > options.approveAbove!,
    execute: async ({ tag, ms }) => {
      stats.running += 1;
      stats.maxRunning = Math.max(stats.maxRunning, stats.running);
      await new Promise((r) => setTimeout(r, ms));
      stats.running -= 1;
      stats.finished.push(tag);
      return `result ${tag}`;
    },
  });
  return { tool, stats };
}

function counting(name: string, unsafeWhen: (s: GuardSubject) => boolean = () => false): Guard & { calls: number } {
  const g = {
    name,
    calls: 0,
    async check(s: GuardSubject) {
      g.calls += 1;
      const unsafe = unsafeWhen(s);
      return { safe: !unsafe, categories: unsafe ? ['X'] : [], guard: name, latencyMs: 0 };
    },
  };
  return g;
}

function collect(agent: Agent): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const type of ['tool-call', 'tool-result', 'blocked', 'approval-requested'] as const) agent.on(type, (e: AgentEvent) => events.push(e));
  return events;
}

const toolMessages = (model: ScriptedModel) =>
  (model.requests.at(-1)?.messages ?? []).filter((m) => m.role === 'tool').map((m) => [m.role === 'tool' && m.toolCallId, m.content]);

describe('tool calls of one step', () => {
  it('run concurrently and reach events, the model and the audit in call order', async () => {
    const { tool, stats } = waitTool();
    const model = new ScriptedModel({
      steps: [[callTool('wait', { tag: 'a', ms: 60 }, 'c1'), callTool('wait', { tag: 'b', ms: 5 }, 'c2'), callTool('wait', { tag: 'c', ms: 30 }, 'c3')], say('done')],
    });
    const agent = new Agent({ model, tools: [tool], guards: { toolCall: [counting('args')], toolResult: [counting('results')] } });
    const events = collect(agent);
    const result = await agent.run('go');
    expect(result.status).toBe('completed');
    expect(stats.maxRunning).toBe(3);
    expect(stats.finished).toEqual(['b', 'c', 'a']);
    expect(toolMessages(model)).toEqual([['c1', 'result a'], ['c2', 'result b'], ['c3', 'result c']]);
    expect(events.filter((e) => e.type === 'tool-result').map((e) => e.type === 'tool-result' && e.toolCallId)).toEqual(['c1', 'c2', 'c3']);
    expect(events.filter((e) => e.type === 'tool-call').map((e) => e.type === 'tool-call' && e.toolCallId)).toEqual(['c1', 'c2', 'c3']);
    expect(result.audit.filter((a) => a.kind === 'tool-call').map((a) => a.kind === 'tool-call' && a.toolCallId)).toEqual(['c1', 'c2', 'c3']);
  });

  it('respects maxParallelToolCalls (1 runs them one after another)', async () => {
    const { tool, stats } = waitTool();
    const model = new ScriptedModel({ steps: [[callTool('wait', { tag: 'a', ms: 20 }), callTool('wait', { tag: 'b', ms: 5 }), callTool('wait', { tag: 'c', ms: 5 })], say('done')] });
    await new Agent({ model, tools: [tool], maxParallelToolCalls: 1 }).run('go');
    expect(stats.maxRunning).toBe(1);
    expect(stats.finished).toEqual(['a', 'b', 'c']);
  });

  it('still validates, guards and flags each call, keeping every answer in its place', async () => {
    const { tool, stats } = waitTool();
    const model = new ScriptedModel({
      steps: [
        [
          callTool('wait', { tag: 'slow', ms: 40 }, 'c1'),
          callTool('wait', { tag: 'bad', ms: 'soon' }, 'c2'),
          callTool('wait', { tag: 'DROP', ms: 1 }, 'c3'),
          callTool('wait', { tag: 'leak', ms: 1 }, 'c4'),
        ],
        say('done'),
      ],
    });
    const agent = new Agent({
      model,
      tools: [tool],
      guards: { toolCall: [counting('args', (s) => s.content.text.includes('DROP'))], toolResult: [counting('results', (s) => s.content.text.includes('leak'))] },
    });
    const events = collect(agent);
    await agent.run('go');
    expect(stats.finished.sort()).toEqual(['leak', 'slow']);
    const messages = toolMessages(model);
    expect(messages.map(([id]) => id)).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(messages[0][1]).toBe('result slow');
    expect(messages[1][1]).toContain('Invalid arguments for tool "wait"');
    expect(messages[2][1]).toContain('was blocked by guard "args"');
    expect(messages[3][1]).toContain('was withheld');
    expect(events.filter((e) => e.type === 'tool-result').map((e) => e.type === 'tool-result' && [e.toolCallId, e.flagged])).toEqual([
      ['c1', false],
      ['c2', false],
      ['c3', false],
      ['c4', true],
    ]);
  });

  it('a call that needs approval pauses the run after the others ran; the answers keep call order after resume', async () => {
    const { tool, stats } = waitTool({ approveAbove: 100 });
    const model = new ScriptedModel({
      steps: [[callTool('wait', { tag: 'a', ms: 5 }, 'c1'), callTool('wait', { tag: 'refund', ms: 101 }, 'c2'), callTool('wait', { tag: 'c', ms: 5 }, 'c3')], say('done')],
    });
    const agent = new Agent({ model, tools: [tool] });
    const events = collect(agent);
    const paused = await agent.run('go');
    expect(paused.status).toBe('awaiting-approval');
    expect(paused.pendingApproval).toMatchObject({ toolCallId: 'c2' });
    expect(stats.finished.sort()).toEqual(['a', 'c']);
    // c1 is handed over; c3 waits in the state behind the call awaiting approval.
    expect(events.filter((e) => e.type === 'tool-result').map((e) => e.type === 'tool-result' && e.toolCallId)).toEqual(['c1']);

    const done = await agent.resume(JSON.parse(JSON.stringify(paused.state)), { approve: true });
    expect(done.status).toBe('completed');
    expect(stats.finished.sort()).toEqual(['a', 'c', 'refund']);
    expect(toolMessages(model)).toEqual([['c1', 'result a'], ['c2', 'result refund'], ['c3', 'result c']]);
    expect(events.filter((e) => e.type === 'tool-result').map((e) => e.type === 'tool-result' && e.toolCallId)).toEqual(['c1', 'c2', 'c3']);
  });

  it('identical calls in one step are guarded once (per-run verdict cache)', async () => {
    const { tool } = waitTool();
    const args = counting('args');
    const results = counting('results');
    const model = new ScriptedModel({ steps: [[callTool('wait', { tag: 'x', ms: 1 }, 'c1'), callTool('wait', { tag: 'x', ms: 1 }, 'c2')], say('done')] });
    const result = await new Agent({ model, tools: [tool], guards: { toolCall: [args], toolResult: [results] } }).run('go');
    expect(result.status).toBe('completed');
    expect(args.calls).toBe(1);
    expect(results.calls).toBe(1);
    expect(result.audit.filter((a) => a.kind === 'verdict')).toHaveLength(4);
  });

  it('two calls needing approval pause the run twice, one decision each', async () => {
    const { tool, stats } = waitTool({ approveAbove: 100 });
    const model = new ScriptedModel({
      steps: [[callTool('wait', { tag: 'first', ms: 101 }, 'c1'), callTool('wait', { tag: 'quick', ms: 1 }, 'c2'), callTool('wait', { tag: 'second', ms: 102 }, 'c3')], say('done')],
    });
    const agent = new Agent({ model, tools: [tool] });
    const first = await agent.run('go');
    expect(first.pendingApproval).toMatchObject({ toolCallId: 'c1' });
    const second = await agent.resume(JSON.parse(JSON.stringify(first.state)), { approve: true });
    expect(second.status).toBe('awaiting-approval');
    expect(second.pendingApproval).toMatchObject({ toolCallId: 'c3' });
    const done = await agent.resume(JSON.parse(JSON.stringify(second.state)), { reject: 'not today' });
    expect(done.status).toBe('completed');
    expect(stats.finished.sort()).toEqual(['first', 'quick']);
    const messages = toolMessages(model);
    expect(messages.map(([id]) => id)).toEqual(['c1', 'c2', 'c3']);
    expect(messages[2][1]).toContain('rejected the call to tool "wait": not today');
  });
});
