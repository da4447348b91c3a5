// `lookout serve` over the real in-process model (a tiny Mllama checkpoint with a 96-token
// context): hostile or broken input gets a 4xx with OpenAI's error body, never a 500 or a 200.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel, writeTinyCheckpoint } from '@lookout/runtime';
import { encodePngRaw, pngChunk } from '@lookout/runtime/testing';
import { LookoutServer } from './index.js';
import { redactPaths } from './model-errors.js';

const CONTEXT = 96;
let dir: string;
let model: OnnxModel;
let server: LookoutServer;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'serve-hardening-'));
  await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 7 });
  const configPath = path.join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.text_config.max_position_embeddings = CONTEXT;
  writeFileSync(configPath, JSON.stringify(config));
  model = await OnnxModel.load(dir);
  // Heartbeats after 1 ms: any 200 would go out at once, so a late failure could not become a 400.
  server = new LookoutServer({ model, modelName: 'tiny', keepAliveMs: 1 });
  url = await server.listen(0);
});

afterAll(async () => {
  await server?.close();
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => { error: { message: string; type: string; param: string | null; code: string } } & Record<string, unknown>;
}

/** A raw HTTP request (fetch does not let a test set Host). */
function send(pathname: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const target = new URL(`${url}${pathname}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: options.method ?? 'POST', headers: options.headers ?? {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const chat = (body: Record<string, unknown>, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  send('/chat/completions', { headers, body: JSON.stringify({ model: 'tiny', max_tokens: 2, ...body }) });

const withImage = (bytes: Uint8Array, mediaType = 'image/png') => [
  { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}` } }, { type: 'text', text: 'What is this?' }] },
];

/** A valid RGB PNG whose header claims width x height; `rows` rows of pixel data follow. */
function png(width: number, height: number, rows = height): Buffer {
  // Noise, so that the compressed data is long and a cut lands inside it.
  let x = 7;
  const noise = () => Uint8Array.from({ length: width * 3 }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
  return encodePngRaw(width, height, 8, 2, Array.from({ length: rows }, noise));
}

function expectOpenAIError(reply: Reply, status: number, code: string, param: string | null = null) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers['content-type']).toBe('application/json');
  const { error } = reply.json();
  expect(error).toEqual({ message: expect.any(String), type: status === 403 ? 'permission_error' : 'invalid_request_error', param, code });
  // What reaches the client names the problem, never the server's files or stack.
  expect(error.message).not.toMatch(/\/tmp\/|serve-hardening-|\n\s+at /);
  return error;
}

describe('lookout serve: invalid images answer 400 invalid_image before any response byte', () => {
  it('a valid image still gets a 200 (the tiny model takes images)', async () => {
    const reply = await chat({ messages: withImage(png(16, 12)) });
    expect(reply.status, reply.text).toBe(200);
  });

  it.each([
    ['bytes that are not an image', Buffer.from('this is not an image at all'), 'IMAGE_UNSUPPORTED_FORMAT'],
    ['a truncated PNG', png(64, 48).subarray(0, 2000), 'IMAGE_CORRUPT'],
    ['a PNG whose pixel data stops after one row', Buffer.concat([png(64, 64).subarray(0, 33), pngChunk('IDAT', deflateSync(Buffer.alloc(10))), pngChunk('IEND', Buffer.alloc(0))]), 'IMAGE_CORRUPT'],
    ['a truncated JPEG', Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb0043000806060706', 'hex'), 'IMAGE_CORRUPT'],
    ['a pixel bomb (PNG header claiming 50000 x 50000)', png(50000, 50000, 1), 'IMAGE_TOO_MANY_PIXELS'],
  ])('%s → 400, streamed or not', async (_what, bytes, runtimeCode) => {
    for (const stream of [false, true]) {
      const error = expectOpenAIError(await chat({ messages: withImage(bytes, runtimeCode === 'IMAGE_CORRUPT' && bytes[0] === 0xff ? 'image/jpeg' : 'image/png'), stream }), 400, 'invalid_image', 'messages');
      expect(error.message).toContain(runtimeCode);
    }
    // The server is still fine afterwards.
    expect((await chat({ messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
  });
});

describe("lookout serve: prompts longer than the model's context", () => {
  it('a 200k-word prompt answers 400 context_length_exceeded (not a stack overflow), streamed or not', async () => {
    const words = 'word '.repeat(200_000);
    for (const stream of [false, true]) {
      const error = expectOpenAIError(await chat({ messages: [{ role: 'user', content: words }], stream }), 400, 'context_length_exceeded', 'messages');
      expect(error.message).toMatch(new RegExp(`^This model's maximum context length is ${CONTEXT} tokens\\. However, your messages resulted in \\d{6,} tokens`));
    }
    const raw = await send('/completions', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: words, max_tokens: 2 }) });
    expect(expectOpenAIError(raw, 400, 'context_length_exceeded', 'prompt').message).toMatch(/your prompt resulted in \d+ tokens/);
  });

  it('a prompt just over the context is refused the same way', async () => {
    const error = expectOpenAIError(await chat({ messages: [{ role: 'user', content: 'a b c d '.repeat(30) }], stream: true }), 400, 'context_length_exceeded', 'messages');
    expect(error.message).toContain(`maximum context length is ${CONTEXT} tokens`);
  });
});

describe('lookout serve: max_tokens', () => {
  it('a max_tokens of 1e9 is capped at the context left after the prompt', async () => {
    for (const field of ['max_tokens', 'max_completion_tokens']) {
      const reply = await chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: undefined, [field]: 1e9 });
      expect(reply.status, reply.text).toBe(200);
      const body = reply.json() as unknown as { choices: Array<{ finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number } };
      expect(body.choices[0].finish_reason).toBe('length');
      expect(body.usage.prompt_tokens + body.usage.completion_tokens).toBe(CONTEXT);
    }
  });

  it.each([0, -5, 1.5, '10', 1e20])('max_tokens %s is refused with param "max_tokens"', async (value) => {
    const error = expectOpenAIError(await chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: value }), 400, 'invalid_request', 'max_tokens');
    expect(error.message).toMatch(/^max_tokens: /);
    expectOpenAIError(await chat({ messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: value }), 400, 'invalid_request', 'max_completion_tokens');
  });
});

describe('lookout serve: requests a web page could forge', () => {
  it('refuses a text/plain (CORS-simple) body with 415 and generates nothing', async () => {
    const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const reply = await send('/chat/completions', { headers: { 'content-type': type }, body });
      expect(reply.status, type).toBe(415);
      expect(reply.json().error).toMatchObject({ code: 'unsupported_media_type', type: 'invalid_request_error', param: null });
    }
    expect((await send('/completions', { headers: {}, body })).status).toBe(415);
    expect((await send('/chat/completions', { headers: { 'content-type': 'application/json; charset=utf-8' }, body })).status).toBe(200);
  });

  it('on loopback, answers only loopback Host names (DNS rebinding gets 403)', async () => {
    const port = new URL(url).port;
    const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      const reply = await send('/chat/completions', { headers: { host, 'content-type': 'application/json' }, body });
      expectOpenAIError(reply, 403, 'host_not_allowed');
      expect((await send('/models', { method: 'GET', headers: { host } })).status).toBe(403);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST'])
      expect((await send('/models', { method: 'GET', headers: { host } })).status, host).toBe(200);
  });

  it('allowedHosts adds names; a non-loopback bind keeps accepting any host', async () => {
    const extra = new LookoutServer({ model, modelName: 'tiny', allowedHosts: ['lookout.internal'] });
    const open = new LookoutServer({ model, modelName: 'tiny', apiKeys: ['k'] });
    try {
      const get = (base: string, host: string, headers: Record<string, string> = {}) =>
        new Promise<number>((resolve, reject) => {
          const u = new URL(`${base}/models`);
          httpRequest({ host: '127.0.0.1', port: u.port, path: u.pathname, headers: { host, ...headers } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on('error', reject)
            .end();
        });
      const extraUrl = await extra.listen(0);
      expect(await get(extraUrl, 'lookout.internal:8000')).toBe(200);
      expect(await get(extraUrl, 'evil.example')).toBe(403);
      const openUrl = await open.listen(0, '0.0.0.0');
      expect(await get(openUrl, 'any.name.example', { authorization: 'Bearer k' })).toBe(200);
    } finally {
      await extra.close();
      await open.close();
    }
  });
});

describe('lookout serve: error messages', () => {
  it('replace absolute file paths, keep URLs', () => {
    expect(redactPaths('cannot open /home/me/models/tiny/onnx-fp32/decoder.onnx: no such file')).toBe('cannot open <path>: no such file');
    expect(redactPaths('could not fetch https://example.com/a/b.png')).toBe('could not fetch https://example.com/a/b.png');
    expect(redactPaths('the png image is corrupt (pngload_buffer: end of stream)')).toBe('the png image is corrupt (pngload_buffer: end of stream)');
    // JSON pointers name the schema node a client has to fix.
    expect(redactPaths('Unsupported JSON Schema at #/properties/items/items: "format" is not enforced')).toBe('Unsupported JSON Schema at #/properties/items/items: "format" is not enforced');
  });
});

describe('lookout serve --base-url: the engine behind refuses the input', () => {
  it("answers an engine's 500 that refuses the input (llama-server without a vision projector) as a 400, sent to the engine once", async () => {
    const { createServer } = await import('node:http');
    const { OpenAICompatibleModel } = await import('@lookout/runtime');
    let calls = 0;
    const engine = createServer((_req, res) => {
      calls += 1;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 500, message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj', type: 'server_error' } }));
    });
    await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
    const engineUrl = `http://127.0.0.1:${(engine.address() as { port: number }).port}/v1`;
    const served = new LookoutServer({ model: new OpenAICompatibleModel({ baseUrl: engineUrl, model: 'm', retry: { baseDelayMs: 1, maxDelayMs: 5 } }), modelName: 'proxy' });
    const proxyUrl = await served.listen(0);
    try {
      const res = await fetch(`${proxyUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'proxy', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await res.json()) as { error: { message: string; code: string; type: string } };
      expect(res.status).toBe(400);
      expect(body.error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error' });
      expect(body.error.message).toBe('The model engine refused the request (HTTP 500): image input is not supported - hint: if this is unexpected, you may need to provide the mmproj');
      expect(calls).toBe(1);
    } finally {
      await served.close();
      await new Promise((r) => engine.close(r));
    }
  });

  it("answers the engine's 400 as a 400 with its message (no retries, no engine URL), not a 500", async () => {
    const { createServer } = await import('node:http');
    const { OpenAICompatibleModel } = await import('@lookout/runtime');
    let calls = 0;
    const engine = createServer((_req, res) => {
      calls += 1;
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'image input is not supported by this model', type: 'invalid_request_error' } }));
    });
    await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
    const engineUrl = `http://127.0.0.1:${(engine.address() as { port: number }).port}/v1`;
    const served = new LookoutServer({ model: new OpenAICompatibleModel({ baseUrl: engineUrl, model: 'm' }), modelName: 'proxy' });
    const proxyUrl = await served.listen(0);
    try {
      for (const stream of [false, true]) {
        const res = await fetch(`${proxyUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'proxy', stream, messages: [{ role: 'user', content: 'hi' }] }),
        });
        const body = (await res.json()) as { error: { message: string; code: string } };
        expect(res.status).toBe(400);
        expect(body.error.code).toBe('invalid_request');
        expect(body.error.message).toContain('image input is not supported by this model');
        expect(body.error.message).not.toContain(engineUrl);
      }
      expect(calls).toBe(2);
    } finally {
      await served.close();
      await new Promise((r) => engine.close(r));
    }
  });
});
