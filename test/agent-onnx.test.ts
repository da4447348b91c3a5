// The guarded loop over a real in-process model: OnnxModel (worker thread, CPU) on a tiny
// randomly initialised Llama 3.2 Vision checkpoint written and built by the project itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '@lookout/core';
import type { Guard, GuardSubject } from '@lookout/guards';
import { OnnxModel, writeTinyCheckpoint, type ModelEvent } from '@lookout/runtime';

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

/** A 2x2 RGB PNG written by hand (zlib only), so no image library is needed here. */
function tinyPng(): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]),
  );
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
