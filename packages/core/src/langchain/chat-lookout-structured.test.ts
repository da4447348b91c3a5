// ChatLookout's structured output and forced tool calls: what reaches the model (tool_choice,
// response_format, stop, tracing metadata) over a scripted model, and valid objects from all
// three withStructuredOutput methods over the tiny in-process Mllama, whose weights are random:
// only decode-time constraints can make its output valid.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelRequest } from '@lookout/runtime';
import { useTinyOnnxModel } from '@lookout/runtime/testing';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { ChatLookout } from './chat-lookout.js';
import { StructuredOutputError } from './errors.js';

const REPORT = z.object({ item: z.string(), damaged: z.boolean(), severity: z.enum(['low', 'high']) }).describe('Damage report');
const lastRequest = (model: ScriptedModel): ModelRequest => model.requests.at(-1)!;

describe('ChatLookout: what reaches the model', () => {
  it('honours tool_choice from bindTools, in every LangChain form', async () => {
    const model = new ScriptedModel({ steps: [say('ok')], whenExhausted: 'repeat-last' });
    const tools = [{ type: 'function' as const, function: { name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } } }];
    const chat = new ChatLookout({ model });
    await chat.bindTools(tools, { tool_choice: 'lookup' }).invoke('x');
    expect(lastRequest(model).toolChoice).toEqual({ name: 'lookup' });
    await chat.bindTools(tools, { tool_choice: { type: 'function', function: { name: 'lookup' } } }).invoke('x');
    expect(lastRequest(model).toolChoice).toEqual({ name: 'lookup' });
    await chat.bindTools(tools, { tool_choice: 'any' }).invoke('x');
    expect(lastRequest(model).toolChoice).toBe('required');
    await chat.bindTools(tools, { tool_choice: 'none' }).invoke('x');
    expect(lastRequest(model).toolChoice).toBe('none');
    await chat.bindTools(tools).invoke('x');
    expect(lastRequest(model).toolChoice).toBeUndefined();
    await expect(chat.bindTools(tools, { tool_choice: 'refund' }).invoke('x')).rejects.toThrow(/not among the bound tools \(lookup\)/);
  });

  it('sends constructor stop sequences with every call, plus the call’s own', async () => {
    const model = new ScriptedModel({ steps: [say('ok')], whenExhausted: 'repeat-last' });
    const chat = new ChatLookout({ model, stop: ['\nUser:'] });
    await chat.invoke('x');
    expect(lastRequest(model).sampling?.stop).toEqual(['\nUser:']);
    await chat.invoke('x', { stop: ['END'] });
    expect(lastRequest(model).sampling?.stop).toEqual(['\nUser:', 'END']);
  });

  it('names the model and provider in response_metadata', async () => {
    const chat = new ChatLookout({ model: new ScriptedModel({ steps: [say('ok')] }) });
    const out = await chat.invoke('x');
    expect(out.response_metadata).toMatchObject({ model: 'scripted', model_provider: 'lookout', model_name: 'scripted' });
  });

  it('withStructuredOutput: jsonSchema sends response_format, jsonMode json_object, functionCalling a forced tool', async () => {
    const model = new ScriptedModel({ steps: [say('{"item":"mug","damaged":true,"severity":"high"}'), say('{"a":1}'), [callTool('report', { item: 'mug', damaged: false, severity: 'low' })]] });
    const chat = new ChatLookout({ model });
    expect(await chat.withStructuredOutput(REPORT, { method: 'jsonSchema', name: 'report' }).invoke('x')).toEqual({ item: 'mug', damaged: true, severity: 'high' });
    expect(lastRequest(model).responseFormat).toMatchObject({ type: 'json_schema', name: 'report', schema: { type: 'object', required: ['item', 'damaged', 'severity'] } });
    expect(await chat.withStructuredOutput(z.object({ a: z.number() }), { method: 'jsonMode' }).invoke('x')).toEqual({ a: 1 });
    expect(lastRequest(model).responseFormat).toEqual({ type: 'json_object' });
    expect(await chat.withStructuredOutput(REPORT, { name: 'report' }).invoke('x')).toEqual({ item: 'mug', damaged: false, severity: 'low' });
    expect(lastRequest(model)).toMatchObject({ toolChoice: { name: 'report' }, tools: [{ name: 'report', description: 'Damage report' }] });
  });

  it('withStructuredOutput: output that fails the schema is a StructuredOutputError; includeRaw gives parsed null instead', async () => {
    const chat = new ChatLookout({ model: new ScriptedModel({ steps: [say('{"item":"mug","damaged":"yes"}')], whenExhausted: 'repeat-last' }) });
    const err = await chat.withStructuredOutput(REPORT, { method: 'jsonSchema' }).invoke('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StructuredOutputError);
    expect((err as Error).message).toContain('damaged');
    const raw = await chat.withStructuredOutput(REPORT, { method: 'jsonSchema', includeRaw: true }).invoke('x');
    expect(raw.parsed).toBeNull();
    expect(raw.raw.content).toContain('"damaged":"yes"');
    expect(() => chat.withStructuredOutput(REPORT, { method: 'xml' })).toThrow(/"functionCalling", "jsonSchema" or "jsonMode"/);
  });
});

describe('ChatLookout over the tiny in-process model: structured output holds with random weights', () => {
  const tiny = useTinyOnnxModel({ arch: 'mllama', seed: 11 });

  it('claims forced tools and structured output in its profile', () => {
    expect(new ChatLookout({ model: tiny() }).profile).toMatchObject({ toolChoice: true, structuredOutput: true });
  });

  for (const method of ['jsonSchema', 'functionCalling', 'jsonMode'] as const) {
    it(`method ${method} returns a value valid against the schema`, async () => {
      const chat = new ChatLookout({ model: tiny(), sampling: { maxTokens: 64, temperature: 0.8, seed: 3 } });
      const schema = method === 'jsonMode' ? z.record(z.string(), z.unknown()) : REPORT;
      const value = await chat.withStructuredOutput(schema, { method, name: 'report' }).invoke('Report the damage to my mug.');
      expect(schema.safeParse(value).success).toBe(true);
    });
  }
});
