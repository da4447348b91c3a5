// The guarded loop over a real in-process model: OnnxModel (worker thread, CPU) on a tiny
// randomly initialised Llama 3.2 Vision checkpoint written and built by the project itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '@lookout/core';
import type { Guard, GuardSubject } from '@lookout/guards';
import { OnnxModel, writeTinyCheckpoint, type ModelEvent } from '@lookout/runtime';
import { encodePngRaw } from '@lookout/runtime/testing';

let dir: string;
let model: OnnxModel;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lookout-agent-onnx-'));
  await writeTinyCheckpoint(dir, { arch: 'mllama' });
  model = await OnnxModel.load(dir, { intraOpThreads: 1 });
});

afterAll(async () => {
  await model?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const sampling = { maxTokens: 12 };

function slowGuard(safe: boolean, delayMs: number, seen: GuardSubject[] = []): Guard {
  return {
    name: safe ? 'slow-safe' : 'slow-unsafe',
    async check(subject) {
      seen.push(subject);
      await new Promise((r) => setTimeout(r, delayMs));
      return { safe, categories: safe ? [] : ['S1'], guard: this.name, latencyMs: delayMs };
    },
  };
}

/** A 2x2 RGB PNG: red, green / blue, white. */
function tinyPng(): Uint8Array {
  return new Uint8Array(encodePngRaw(2, 2, 8, 2, [Uint8Array.of(255, 0, 0, 0, 255, 0), Uint8Array.of(0, 0, 255, 255, 255, 255)]));
}

describe('Agent over OnnxModel (tiny mllama, CPU)', () => {
  it('releases exactly the text the model generates once guards pass', async () => {
    const direct: string[] = [];
    for await (const e of model.stream({ messages: [{ role: 'user', content: 'Hello there' }], sampling }) as AsyncIterable<ModelEvent>) {
      if (e.type === 'text-delta') direct.push(e.text);
    }
    const pass: Guard = { name: 'pass', check: async () => ({ safe: true, categories: [], guard: 'pass', latencyMs: 0 }) };
    const agent = new Agent({ model, sampling, guards: { input: [slowGuard(true, 30)], output: [pass] }, outputChunkChars: 8 });
    const events: AgentEvent[] = [];
    for await (const e of agent.stream('Hello there')) events.push(e);
    const released = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
    const end = events.at(-1);
    expect(end?.type).toBe('turn-end');
    if (end?.type !== 'turn-end') return;
    expect(end.result.status).toBe('completed');
    expect(released).toBe(direct.join(''));
    expect(end.result.text).toBe(direct.join(''));
    expect(end.result.usage.outputTokens).toBeGreaterThan(0);
  });

  it('an unsafe input aborts the running model step and releases nothing', async () => {
    const agent = new Agent({ model, sampling: { maxTokens: 400 }, guards: { input: [slowGuard(false, 20)] } });
    const events: AgentEvent[] = [];
    agent.on('text-delta', (e) => events.push(e));
    const result = await agent.run('Hello there');
    expect(result.status).toBe('blocked');
    expect(events).toHaveLength(0);
    // The worker is free again: the next request is served at once.
    const next = await new Agent({ model, sampling: { maxTokens: 2 } }).run('again');
    expect(next.status).toBe('completed');
  });

  it('passes an image to input guards and to the vision model', async () => {
    const seen: GuardSubject[] = [];
    const png = tinyPng();
    const agent = new Agent({ model, sampling: { maxTokens: 4 }, guards: { input: [slowGuard(true, 1, seen)] } });
    const result = await agent.run([{ type: 'image', image: png }, { type: 'text', text: 'What is in this picture?' }]);
    expect(result.status).toBe('completed');
    expect(seen[0].content.images).toEqual([png]);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
  });
});
