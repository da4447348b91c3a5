// `lookout serve` as a user starts it, on a tiny Mllama checkpoint: the Host allow-list flag, the
// JSON-only rule and 400s for bad input, over real HTTP.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@lookout/runtime';

const bin = fileURLToPath(new URL('../../../bin/lookout.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cli-serve-hardening-'));
  await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 3 });
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startServe(args: string[]) {
  const child = spawn(process.execPath, [bin, 'serve', '--model-dir', dir, '--name', 'tiny', '--port', '0', '--quiet', ...args]);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start; stdout: ${out}; stderr: ${err}`)), 120_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]));
      }
    });
    void exit.then(() => reject(new Error(`serve exited; stdout: ${out}; stderr: ${err}`)));
  });
  return { child, url, exit, stderr: () => err };
}

function send(base: URL, pathname: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path: pathname, method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('lookout serve --allowed-hosts and input checks', () => {
  it('answers allowed hosts, refuses others (403) and non-JSON bodies (415), and bad images with 400 even when streamed', async () => {
    const serve = startServe(['--allowed-hosts', 'lookout.internal, .corp.example']);
    try {
      const base = await serve.url;
      expect((await send(base, '/v1/models', { host: `lookout.internal:${base.port}` })).status).toBe(200);
      expect((await send(base, '/v1/models', { host: 'gpu.corp.example' })).status).toBe(200);
      expect((await send(base, '/v1/models', { host: `localhost:${base.port}` })).status).toBe(200);
      const refused = await send(base, '/v1/models', { host: 'attacker.example' });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body).error).toMatchObject({ code: 'host_not_allowed', type: 'permission_error' });

      const chat = JSON.stringify({ model: 'tiny', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
      expect((await send(base, '/v1/chat/completions', { 'content-type': 'text/plain' }, chat)).status).toBe(415);
      expect((await send(base, '/v1/chat/completions', { 'content-type': 'application/json' }, chat)).status).toBe(200);

      const corrupt = JSON.stringify({
        model: 'tiny',
        stream: true,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64')}` } }] }],
      });
      const bad = await send(base, '/v1/chat/completions', { 'content-type': 'application/json' }, corrupt);
      expect(bad.status, bad.body).toBe(400);
      expect(JSON.parse(bad.body).error).toMatchObject({ code: 'invalid_image', type: 'invalid_request_error', param: 'messages' });
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exit).toBe(0);
    }
  }, 180_000);

  it('warns when listening beyond loopback without --require-key', async () => {
    const serve = startServe(['--host', '0.0.0.0']);
    try {
      await serve.url;
      await expect.poll(() => serve.stderr()).toContain('without --require-key');
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exit).toBe(0);
    }
  }, 180_000);
});
