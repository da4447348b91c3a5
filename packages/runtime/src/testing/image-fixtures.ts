// Test fixtures for the image intake: synthetic images made with sharp and hand-built headers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** Deterministic RGB(A) gradient with some structure, `channels` 1..4. */
export function gradientPixels(width: number, height: number, channels: number, seed = 1): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = (x * (3 + c) + y * (5 + 2 * c) + seed * 17 + ((x * y) % 13) * 7) & 255;
        out[(y * width + x) * channels + c] = v;
      }
    }
  }
  return out;
}

export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<Buffer> {
  const img = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  // libvips saves 1/2-band raw input as sRGB unless told it is gray.
  return (channels <= 2 ? img.toColourspace('b-w') : img).png().toBuffer();
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A tiny file whose PNG header claims width x height RGB pixels: a decompression bomb as far as
 * any decoder that trusts the header is concerned. The image data is a few bytes.
 */
export function pngBombHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A local http server for fetch tests; `handler` decides per request. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Inserts a tRNS chunk (colour-key transparency) right after IHDR of a gray or truecolor PNG. */
export function withColorKey(png: Buffer, key: number[]): Buffer {
  const ihdrEnd = 8 + 8 + 13 + 4;
  const data = Buffer.alloc(key.length * 2);
  key.forEach((v, i) => data.writeUInt16BE(v, i * 2));
  return Buffer.concat([png.subarray(0, ihdrEnd), pngChunk('tRNS', data), png.subarray(ihdrEnd)]);
}

/**
 * A PNG written directly (filter 0 on every row), for bit depths and colour types the sharp
 * encoder does not produce: 16-bit truecolor, 1-bit gray. `rows[y]` is the packed row bytes.
 */
export function encodePngRaw(width: number, height: number, bitDepth: number, colorType: number, rows: Uint8Array[]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const filtered = Buffer.concat(rows.flatMap((r) => [Buffer.from([0]), Buffer.from(r)]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(filtered)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
