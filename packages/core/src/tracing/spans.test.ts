import { trace, type Attributes, type Span, type SpanContext, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Guard } from '@lookout/guards';
import { defineTool, z } from '@lookout/tools';
import { Agent } from '../agent/agent.js';
import { ScriptedModel, callTool, say } from '../testing/index.js';

// A minimal recording provider: the API's ProxyTracer delegates to it once registered.
interface Recorded {
  name: string;
  attributes: Attributes;
  ended: boolean;
}
const recorded: Recorded[] = [];

function recordingSpan(rec: Recorded): Span {
  const ctx: SpanContext = { traceId: '0'.repeat(31) + '1', spanId: String(recorded.length).padStart(16, '0'), traceFlags: 1 };
  const span: Span = {
    spanContext: () => ctx,
    setAttribute: (k, v) => ((rec.attributes[k] = v), span),
    setAttributes: (a) => (Object.assign(rec.attributes, a), span),
    addEvent: () => span,
    addLink: () => span,
    addLinks: () => span,
    setStatus: () => span,
    updateName: () => span,
    end: () => void (rec.ended = true),
    isRecording: () => true,
    recordException: () => {},
  };
  return span;
}

const tracer = {
  startSpan(name: string, options?: { attributes?: Attributes }) {
    const rec: Recorded = { name, attributes: { ...options?.attributes }, ended: false };
    recorded.push(rec);
    return recordingSpan(rec);
  },
  startActiveSpan() {
    throw new Error('not used');
  },
} as unknown as Tracer;
const provider: TracerProvider = { getTracer: () => tracer };

beforeAll(() => void trace.setGlobalTracerProvider(provider));
afterAll(() => trace.disable());

it('records spans for the turn, model steps, guard checks and tool calls', async () => {
  const guard: Guard = { name: 'ok', check: async () => ({ safe: true, categories: [], guard: 'ok', latencyMs: 1 }) };
  const echo = defineTool({ name: 'echo', description: '', input: z.object({ s: z.string() }), execute: ({ s }) => s });
  const model = new ScriptedModel({ steps: [[callTool('echo', { s: 'x' })], say('done')] });
  await new Agent({ model, tools: [echo], guards: { input: [guard] } }).run('hi');

  const names = recorded.map((r) => r.name);
  expect(names.filter((n) => n === 'lookout.agent.turn')).toHaveLength(1);
  expect(names.filter((n) => n === 'lookout.model.step')).toHaveLength(2);
  expect(names.filter((n) => n === 'lookout.tool.call')).toHaveLength(1);
  const guardSpan = recorded.find((r) => r.name === 'lookout.guard.check')!;
  expect(guardSpan.attributes).toMatchObject({ 'lookout.guard.stage': 'input', 'lookout.guard.name': 'ok', 'lookout.guard.safe': true });
  const step = recorded.find((r) => r.name === 'lookout.model.step')!;
  expect(step.attributes['lookout.model.time_to_first_token_ms']).toBeTypeOf('number');
  expect(step.attributes['lookout.model.input_tokens']).toBeGreaterThan(0);
  expect(recorded.every((r) => r.ended)).toBe(true);
});
