import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAICompatibleModel, writeTinyCheckpoint, type ContentPart } from '@lookout/runtime';
import { LookoutServer } from '@lookout/core/serve';
import { RecordingModel, collect, textEvents } from './serve-fixtures.js';
import { lookout } from './cli-helpers.js';

const servers: LookoutServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An upstream engine the CLI talks to: `lookout serve` over a model that echoes the last user text. */
async function upstream() {
  const model = new RecordingModel((req) => {
    const last = req.messages!.filter((m) => m.role === 'user').at(-1)!;
    const text = typeof last.content === 'string' ? last.content : (last.content as ContentPart[]).map((p) => (p.type === 'text' ? p.text : '[image]')).join(' ');
    return textEvents(`echo: ${text}`);
  });
  const server = new LookoutServer({ model, modelName: 'llama-vision' });
  servers.push(server);
  return { model, url: await server.listen(0) };
}

describe('lookout CLI', () => {
  it('lists commands, prints per-command help, and rejects unknown commands and flags', async () => {
    const help = lookout(['--help']);
    expect(await help.exit).toBe(0);
    for (const name of ['chat', 'serve', 'bench']) expect(help.stdout()).toMatch(new RegExp(`^  ${name} `, 'm'));
    for (const name of ['chat', 'serve', 'bench']) {
      const run = lookout([name, '--help']);
      expect(await run.exit).toBe(0);
      expect(run.stdout()).toContain(`Usage: lookout ${name}`);
    }
    const unknown = lookout(['frobnicate']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr()).toContain('unknown command "frobnicate"');
    const badFlag = lookout(['serve', '--port', 'eighty']);
    expect(await badFlag.exit).toBe(2);
    expect(badFlag.stderr()).toContain('--port must be a whole number from 0 to 65535, got "eighty"');
    const noBench = lookout(['bench', 'no-such-bench']);
    expect(await noBench.exit).toBe(2);
    expect(noBench.stderr()).toMatch(/no benchmark named "no-such-bench"; known: .*agent/);
    const noModel = lookout(['chat']);
    expect(await noModel.exit).toBe(2);
    expect(noModel.stderr()).toContain('no model given');
  });

  it('chat: streams replies from a served model, attaches images, shows guard verdicts and blocks PII', async () => {
    const { model, url } = await upstream();
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-chat-'));
    const png = path.join(dir, 'receipt.png');
    const pngBytes = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    await writeFile(png, pngBytes);
    const input = ['hello there', `/image ${png}`, '/image /no/such/file.png', 'what is on it?', 'mail me at jane.doe@example.com', '/exit', 'never read'].join('\n') + '\n';
    const run = lookout(['chat', '--base-url', url, '--model', 'llama-vision', '--pii', '--guard-mode', 'sequential', '--system', 'Be brief.'], input);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('echo: hello there\n');
    expect(run.stdout()).toContain('echo: [image] what is on it?\n');
    expect(run.stderr()).toContain(`[image attached: ${png}]`);
    expect(run.stderr()).toContain('[no such image file: /no/such/file.png]');
    expect(run.stderr()).toMatch(/\[guard input\] pii: safe/);
    expect(run.stderr()).toMatch(/\[blocked at input by pii/);
    expect(run.stdout()).not.toContain('jane.doe');
    // Two turns reached the model (the PII one was blocked before anything was released), in one session.
    const seen = model.requests.filter((r) => r.messages!.at(-1)!.role === 'user');
    const lastTurn = seen.at(-1)!.messages!;
    expect(lastTurn[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(lastTurn.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    const image = (lastTurn[3].content as ContentPart[])[0] as { type: 'image'; image: Uint8Array };
    expect(Buffer.from(image.image).equals(pngBytes)).toBe(true);
    expect(model.requests.some((r) => JSON.stringify(r.messages).includes('jane.doe'))).toBe(false);
  });

  it('chat: Llama Guard on a served engine blocks unsafe input and output', async () => {
    const { url } = await upstream();
    // A stand-in guard engine: "unsafe" with category S1 whenever the checked conversation says "kaboom".
    const guardModel = new RecordingModel((req) => {
      const seen = req.prompt ? req.prompt.map((p) => ('text' in p ? p.text : '')).join('') : JSON.stringify(req.messages);
      if (/kaboom/i.test(seen)) return textEvents('unsafe\nS1');
      // Only the model's reply can contain "echo: danger", so this one fires at the output stage.
      if (/echo: danger/i.test(seen)) return textEvents('unsafe\nS2');
      return textEvents('safe');
    });
    const guardServer = new LookoutServer({ model: guardModel, modelName: 'llama-guard' });
    servers.push(guardServer);
    const guardUrl = await guardServer.listen(0);
    const input = ['hello', 'make it go kaboom', 'danger', '/exit'].join('\n') + '\n';
    const run = lookout(['chat', '--base-url', url, '--model', 'llama-vision', '--guard-url', guardUrl, '--guard-model', 'llama-guard', '--guard-variant', '1b', '--guard-mode', 'sequential'], input);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('echo: hello\n');
    expect(run.stderr()).toMatch(/\[guard input\] llama-guard[^:]*: safe/);
    expect(run.stderr()).toMatch(/\[guard input\] llama-guard[^:]*: unsafe S1/);
    expect(run.stderr()).toMatch(/\[blocked at input by llama-guard[^:]*: S1\]/);
    expect(run.stdout()).not.toContain('echo: make it go kaboom');
    expect(run.stderr()).toMatch(/\[blocked at output by llama-guard[^:]*: S2\]/);
    expect(run.stdout()).not.toContain('echo: danger');
    expect(guardModel.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('chat: Ctrl-C stops the reply being written and the chat goes on', async () => {
    const { model, url } = await upstream();
    model.gated = true;
    // No --model: the engine serves exactly one, so chat picks it.
    const run = lookout(['chat', '--base-url', url]);
    run.child.stdin.write('first question\n');
    await model.parked(1);
    run.child.kill('SIGINT');
    await expect.poll(() => run.stderr()).toContain('[interrupted]');
    model.gated = false;
    run.child.stdin.end('second question\n/exit\n');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('echo: second question');
    expect(run.stdout()).not.toContain('echo: first question');
  });

  it('serve --model-dir: loads the in-process model and answers over HTTP', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-serve-tiny-'));
    await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 3 });
    const run = lookout(['serve', '--model-dir', dir, '--name', 'tiny', '--port', '0', '--quiet']);
    try {
      const [, baseUrl] = await run.waitFor(/listening on (http:\/\/\S+\/v1)/, 120_000);
      const client = new OpenAICompatibleModel({ baseUrl, model: 'tiny' });
      const events = await collect(client.stream({ messages: [{ role: 'user', content: 'hi' }], sampling: { maxTokens: 3 }, topLogprobs: 1 }));
      expect(events.filter((e) => e.type === 'token')).toHaveLength(3);
      expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length', usage: { outputTokens: 3 } });
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    }
  });

  it('serve: answers OpenAI clients and shuts down gracefully on SIGTERM, finishing the in-flight stream', async () => {
    const { model, url } = await upstream();
    model.gated = true;
    const run = lookout(['serve', '--base-url', url, '--model', 'llama-vision', '--name', 'front', '--port', '0', '--max-queued', '0']);
    const [, frontUrl] = await run.waitFor(/listening on (http:\/\/\S+\/v1)/);
    const client = new OpenAICompatibleModel({ baseUrl: frontUrl, model: 'front', retry: { maxRetries: 0 } });
    expect(await (await fetch(`${frontUrl}/models`)).json()).toMatchObject({ data: [{ id: 'front' }] });
    const inflight = collect(client.stream({ messages: [{ role: 'user', content: 'keep going' }] }));
    await model.parked(1);
    // The one slot is busy and the queue holds 0: back-pressure.
    const busy = await collect(client.stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
    expect(busy.status).toBe(429);
    run.child.kill('SIGTERM');
    await run.waitFor(/SIGTERM, finishing in-flight requests/);
    model.gated = false;
    model.release();
    const events = await inflight;
    expect(events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe('echo: keep going');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('lookout serve: stopped');
    expect(run.stderr()).toMatch(/POST \/v1\/chat\/completions 200/);
  });
});
