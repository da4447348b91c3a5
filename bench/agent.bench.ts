// The guarded loop's latency: first released token with the input guard running in parallel
// with the model step versus before it (both simulated at equal latency), and the loop's own
// cost per model step against streaming the same scripted model directly.
import type { Guard } from '../packages/guards/src/types.js';
import { defineTool, z } from '../packages/tools/src/index.js';
import { Agent } from '../packages/core/src/index.js';
import { ScriptedModel, callTool, say, type ScriptStep } from '../packages/core/src/testing/index.js';
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
};

export default bench;
