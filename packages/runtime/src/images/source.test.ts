import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError } from './errors.js';
import { resolveLimits } from './limits.js';
import { readImageBytes } from './source.js';
import { encodePng, gradientPixels, startServer } from '../testing/image-fixtures.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return (err as ImageError).code;
  }
  throw new Error('expected a rejection');
}

let png: Buffer;
let dir: string;
let server: Awaited<ReturnType<typeof startServer>>;
const pending: Array<() => void> = [];

beforeAll(async () => {
  png = await encodePng(gradientPixels(40, 30, 3), 40, 30, 3);
  dir = await mkdtemp(path.join(tmpdir(), 'lookout-images-'));
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ok') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      res.end(png);
    } else if (url.pathname === '/big-declared') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 5_000_000 });
      res.write(png); // the client must give up on the header alone
    } else if (url.pathname === '/big-chunked') {
      res.writeHead(200, { 'content-type': 'image/png' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 50 && res.write(chunk)) sent++;
        if (sent < 50) res.once('drain', pump);
        else res.end();
      };
      pump();
    } else if (url.pathname === '/never') {
      pending.push(() => res.destroy()); // no headers ever
    } else if (url.pathname === '/stall-body') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      res.write(png.subarray(0, 10)); // headers and a few bytes, then nothing
      pending.push(() => res.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
});

afterAll(async () => {
  pending.forEach((f) => f());
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('readImageBytes: sources', () => {
  const limits = resolveLimits();

  it('reads bytes, ArrayBuffer, file paths, file: URLs, data: URLs and http URLs to the same bytes', async () => {
    const file = path.join(dir, 'a.png');
    await writeFile(file, png);
    const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
    const ab = png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength);
    for (const input of [png, ab, file, pathToFileURL(file), pathToFileURL(file).href, dataUrl, `${server.url}/ok`, new URL(`${server.url}/ok`)]) {
      expect(Buffer.from(await readImageBytes(input as never, limits)).equals(png)).toBe(true);
    }
  });

  it('rejects unknown inputs, schemes, bad data: URLs and missing files with typed errors', async () => {
    expect(await codeOf(readImageBytes(42 as never, limits))).toBe('IMAGE_INVALID_INPUT');
    expect(await codeOf(readImageBytes('ftp://example.com/a.png', limits))).toBe('IMAGE_INVALID_INPUT');
    expect(await codeOf(readImageBytes('data:image/png;base64', limits))).toBe('IMAGE_INVALID_INPUT');
    expect(await codeOf(readImageBytes('data:image/png;base64,@@@@', limits))).toBe('IMAGE_INVALID_INPUT');
    expect(await codeOf(readImageBytes(path.join(dir, 'missing.png'), limits))).toBe('IMAGE_NOT_FOUND');
    // Bare base64 is not a path; the message stays short and says what a string may be.
    const blob = png.toString('base64');
    await expect(readImageBytes(blob, limits)).rejects.toThrow(/characters\) \(ENAMETOOLONG\); a string image must be a file path, a file:, data: or http\(s\): URL/);
    await readImageBytes(blob, limits).catch((err: Error) => expect(err.message.length).toBeLessThan(400));
    expect(await codeOf(readImageBytes(dir, limits))).toBe('IMAGE_INVALID_INPUT');
    expect(await codeOf(readImageBytes(`${server.url}/404`, limits))).toBe('IMAGE_FETCH_FAILED');
  });
});

describe('readImageBytes: byte cap', () => {
  const small = resolveLimits({ maxBytes: 100 });

  it('rejects oversized buffers, files (by size, before reading) and data: URLs', async () => {
    const file = path.join(dir, 'big.png');
    await writeFile(file, png);
    expect(await codeOf(readImageBytes(png, small))).toBe('IMAGE_TOO_MANY_BYTES');
    expect(await codeOf(readImageBytes(file, small))).toBe('IMAGE_TOO_MANY_BYTES');
    expect(await codeOf(readImageBytes(`data:image/png;base64,${png.toString('base64')}`, small))).toBe('IMAGE_TOO_MANY_BYTES');
    await expect(readImageBytes(png, small)).rejects.toThrow(/limit is 100 bytes/);
  });

  it('refuses an http response whose Content-Length is over the cap', async () => {
    const limits = resolveLimits({ maxBytes: 1_000_000 });
    await expect(readImageBytes(`${server.url}/big-declared`, limits)).rejects.toMatchObject({ code: 'IMAGE_TOO_MANY_BYTES', actual: 5_000_000 });
  });

  it('stops reading a chunked http body once it passes the cap', async () => {
    const limits = resolveLimits({ maxBytes: 200_000 });
    await expect(readImageBytes(`${server.url}/big-chunked`, limits)).rejects.toMatchObject({ code: 'IMAGE_TOO_MANY_BYTES' });
  });
});

describe('readImageBytes: timeouts and abort', () => {
  it('times out when the server never answers', async () => {
    const limits = resolveLimits({ timeoutMs: 200 });
    const started = Date.now();
    expect(await codeOf(readImageBytes(`${server.url}/never`, limits))).toBe('IMAGE_FETCH_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out when the body stalls after the headers', async () => {
    const limits = resolveLimits({ timeoutMs: 200 });
    expect(await codeOf(readImageBytes(`${server.url}/stall-body`, limits))).toBe('IMAGE_FETCH_TIMEOUT');
  });

  it("reports the caller's abort as IMAGE_ABORTED, before or during the fetch", async () => {
    const limits = resolveLimits({ timeoutMs: 10_000 });
    expect(await codeOf(readImageBytes(`${server.url}/ok`, limits, { signal: AbortSignal.abort() }))).toBe('IMAGE_ABORTED');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(await codeOf(readImageBytes(`${server.url}/never`, limits, { signal: controller.signal }))).toBe('IMAGE_ABORTED');
  });
});
