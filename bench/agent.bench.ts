// The guarded loop's latency: first released token with the input guard running in parallel
// with the model step versus before it (both simulated at equal latency), the loop's own cost
// per model step against streaming the same scripted model directly, output moderation with
// chunk + overlap windows against checking the whole reply so far at every chunk, and the tool
// calls of one step run concurrently against one after another.
import type { Guard, GuardSubject } from '@lookout/guards';
import { defineTool, z } from '@lookout/tools';
import { Agent } from '@lookout/core';
import { ScriptedModel, callTool, say, type ScriptStep } from '@lookout/core/testing';
import type { Bench } from './report.js';

const LATENCY_MS = 40;
const TTFT_RUNS = 15;
const OVERHEAD_RUNS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const slowGuard: Guard = {
  name: 'simulated-guard',
  async check() {
    await sleep(LATENCY_MS);
    return { safe: true, categories: [], guard: 'simulated-guard', latencyMs: LATENCY_MS };
  },
};

async function timeToFirstToken(mode: 'parallel' | 'sequential'): Promise<number> {
  // Model prefill simulated as a delay before the first token, equal to the guard's latency.
  const model = new ScriptedModel({ steps: [[{ type: 'delay', ms: LATENCY_MS }, ...say('Hello, how can I help?')]], whenExhausted: 'repeat-last' });
  const agent = new Agent({ model, guards: { input: [slowGuard] }, inputGuardMode: mode });
  const times: number[] = [];
  for (let i = 0; i < TTFT_RUNS; i++) {
    const started = performance.now();
    for await (const event of agent.stream('hi')) {
      if (event.type === 'text-delta') {
        times.push(performance.now() - started);
        break;
      }
    }
  }
  return median(times);
}

async function drain(model: ScriptedModel): Promise<void> {
  for await (const _ of model.stream({ messages: [{ role: 'user', content: 'hi' }] })) {
    // consume
  }
}

const noop = defineTool({ name: 'noop', description: 'does nothing', input: z.object({ n: z.number() }), execute: ({ n }) => ({ n }) });

async function perStep(script: ScriptStep[], direct: boolean): Promise<number> {
  const model = new ScriptedModel({ steps: script });
  const steps = script.length;
  const agent = new Agent({ model, tools: [noop] });
  const replay = () => ((model as unknown as { requests: unknown[] }).requests.length = 0);
  // Warm up JIT and module caches before timing.
  for (let i = 0; i < 50; i++) {
    replay();
    if (direct) for (let s = 0; s < steps; s++) await drain(model);
    else await agent.run('hi');
  }
  const started = performance.now();
  for (let i = 0; i < OVERHEAD_RUNS; i++) {
    replay();
    if (direct) for (let s = 0; s < steps; s++) await drain(model);
    else await agent.run('hi');
  }
  return ((performance.now() - started) * 1000) / (OVERHEAD_RUNS * steps);
}

// A guard whose cost grows with the text it reads, as a classifier model's prefill does.
const MS_PER_1000_CHARS = 4;
function lengthCostGuard(): Guard & { chars: number } {
  const g = {
    name: 'length-cost-guard',
    chars: 0,
    async check(subject: GuardSubject) {
      g.chars += subject.content.text.length;
      await sleep((subject.content.text.length * MS_PER_1000_CHARS) / 1000);
      return { safe: true, categories: [], guard: 'length-cost-guard', latencyMs: 0 };
    },
  };
  return g;
}

const LONG_REPLY = Array.from({ length: 800 }, (_, i) => `word${i % 97}`).join(' '); // ~5 600 characters

async function moderatedReply(overlapChars: number): Promise<{ ms: number; chars: number }> {
  const guard = lengthCostGuard();
  const model = new ScriptedModel({ steps: [say(LONG_REPLY, { chunk: 16 })], whenExhausted: 'repeat-last' });
  // Overlap as long as the reply makes every window start at the reply's beginning: the old behaviour.
  const agent = new Agent({ model, guards: { output: [guard] }, outputChunkChars: 200, outputOverlapChars: overlapChars });
  const started = performance.now();
  const result = await agent.run('write a lot');
  if (result.text !== LONG_REPLY) throw new Error('moderated reply came out different');
  return { ms: performance.now() - started, chars: guard.chars };
}

const TOOL_CALLS = 4;
const TOOL_MS = 25;
const slowTool = defineTool({
  name: 'slow_lookup',
  description: 'waits like a remote API',
  input: z.object({ n: z.number() }),
  execute: async ({ n }) => {
    await sleep(TOOL_MS);
    return { n };
  },
});

async function toolStep(maxParallelToolCalls: number): Promise<number> {
  const calls = Array.from({ length: TOOL_CALLS }, (_, n) => callTool('slow_lookup', { n }));
  const model = new ScriptedModel({ steps: [calls, say('Done.')] });
  const agent = new Agent({ model, tools: [slowTool], maxParallelToolCalls });
  const started = performance.now();
  await agent.run('look them up');
  return performance.now() - started;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const bench: Bench = async (report) => {
  const sequential = await timeToFirstToken('sequential');
  const parallel = await timeToFirstToken('parallel');
  report({
    name: 'time to first released token, input guard parallel to model step',
    value: parallel,
    unit: 'ms',
    baseline: { name: 'input guard before model step', value: sequential },
    note: `guard and prefill each simulated at ${LATENCY_MS} ms, median of ${TTFT_RUNS}`,
  });

  const text: ScriptStep[] = [say('A short answer of a few deltas.', { chunk: 4 })];
  report({
    name: 'agent loop time per step, text reply',
    value: await perStep(text, false),
    unit: 'µs',
    baseline: { name: 'ScriptedModel.stream directly', value: await perStep(text, true) },
    note: `${OVERHEAD_RUNS} runs, no guards, memory session store`,
  });

  const tools: ScriptStep[] = [[callTool('noop', { n: 1 })], say('Done.', { chunk: 4 })];
  report({
    name: 'agent loop time per step, tool call then reply',
    value: await perStep(tools, false),
    unit: 'µs',
    baseline: { name: 'ScriptedModel.stream directly', value: await perStep(tools, true) },
    note: `${OVERHEAD_RUNS} runs, zod validation and tool execution included`,
  });

  const whole = await moderatedReply(LONG_REPLY.length);
  const windowed = await moderatedReply(64);
  report({
    name: 'output moderation of a 5.6k-char reply, 200-char chunks + 64-char overlap',
    value: windowed.ms,
    unit: 'ms',
    baseline: { name: 'every check reads the whole reply so far', value: whole.ms },
    note: `guard cost ${MS_PER_1000_CHARS} ms per 1000 chars read; chars read ${windowed.chars} vs ${whole.chars}`,
  });

  const one = median([await toolStep(1), await toolStep(1), await toolStep(1)]);
  const concurrent = median([await toolStep(8), await toolStep(8), await toolStep(8)]);
  report({
    name: `turn with ${TOOL_CALLS} tool calls in one step, run concurrently`,
    value: concurrent,
    unit: 'ms',
    baseline: { name: 'maxParallelToolCalls: 1', value: one },
    note: `each tool simulated at ${TOOL_MS} ms, median of 3`,
  });
};

export default bench;
