// Bad photos sent the way an attacker would: bytes that are no image, a truncated PNG, a PNG
// header claiming 50000 x 50000 pixels. Each is refused with a 4xx before the reply starts, with
// a message naming what is accepted and nothing of the server's internals; the customer's text
// stays in the transcript with a note. An unexpected failure mid-reply says sorry, not why.
import { rm } from 'node:fs/promises';
import { ScriptedModel, say } from '@lookout/core/testing';
import { pngBombHeader } from '@lookout/runtime/testing';
import sharp from 'sharp';
import { afterEach, expect, it } from 'vitest';
import { ShopClient, startShop } from './helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const dataUrl = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;
const INTERNALS = /\/(work|home|usr|tmp|srv|root)\/|node_modules|\.ts\b|vips|sharp|libpng|spng|ScriptedModel|onnx/i;

it('refuses unreadable photos with a 4xx naming what is accepted, and keeps the text in the transcript', async () => {
  const model = new ScriptedModel({ steps: [say('Thanks for the photo.')] });
  const shop = await startShop({ model });
  dirs.push(shop.dataDir);
  const ada = await ShopClient.signIn(shop.url, 'cus_ada');
  const noise = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();

  const cases = [
    { name: 'not an image', image: dataUrl(Buffer.from('#!/bin/sh\necho this is a script, not a photo\n')), status: 415, code: 'unsupported-image' },
    { name: 'truncated PNG', image: dataUrl(noise.subarray(0, Math.floor(noise.length / 2))), status: 400, code: 'unreadable-image' },
    { name: 'PNG claiming 50000x50000', image: dataUrl(pngBombHeader(50_000, 50_000)), status: 413, code: 'image-too-large' },
    { name: 'JPEG label on PNG-less bytes', image: dataUrl(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), 'image/jpeg'), status: 400, code: 'unreadable-image' },
  ];
  for (const [i, c] of cases.entries()) {
    const res = await ada.send(`My parcel ${i} arrived damaged, card 4111 1111 1111 1111`, [c.image]);
    expect([c.name, res.status, res.error?.code]).toEqual([c.name, c.status, c.code]);
    expect(res.events).toEqual([]);
    expect(res.error.message).toMatch(/^Photo 1 /);
    expect(res.error.message).toContain('PNG, JPEG, WebP or GIF');
    expect(res.error.message).toContain('5 MB');
    expect(res.error.message).not.toMatch(INTERNALS);
  }
  // The model was never asked; the transcript keeps each message (redacted) with the reason.
  expect(model.requests).toHaveLength(0);
  const history = await ada.history();
  expect(history.messages).toHaveLength(cases.length * 2);
  for (const [i] of cases.entries()) {
    expect(history.messages[2 * i]).toEqual({ role: 'customer', text: `My parcel ${i} arrived damaged, card [REDACTED:CARD]`, images: [], refused: true });
    expect(history.messages[2 * i + 1]).toMatchObject({ role: 'notice', text: expect.stringMatching(/^Not sent: Photo 1 /) });
  }
  expect(JSON.stringify(history)).not.toContain('4111');

  // A good photo after all that still goes through, in order.
  const ok = await ada.send('Here is a real photo', [dataUrl(noise)]);
  expect(ok.status).toBe(200);
  expect((await ada.history()).messages.slice(-2)).toMatchObject([
    { role: 'customer', text: 'Here is a real photo', images: [expect.stringMatching(/^data:image\/png;base64,/)] },
    { role: 'bot', text: 'Thanks for the photo.' },
  ]);
  await shop.close();
});

it('an unexpected failure mid-reply sends a generic apology and logs the cause server-side', async () => {
  const secret = 'engine at /srv/models/llama/model.onnx returned 500 (key sk-live-123)';
  const model = new ScriptedModel({ steps: [[{ type: 'error', error: secret }]] });
  const logged: unknown[] = [];
  const shop = await startShop({ model });
  dirs.push(shop.dataDir);
  (shop.server as any).options.logError = (_message: string, error: unknown) => logged.push(error);
  const ada = await ShopClient.signIn(shop.url, 'cus_ada');
  const { status, events } = await ada.send('Where is my kettle?');
  expect(status).toBe(200);
  const error = events.find((e) => e.event === 'error');
  expect(error?.data.message).toMatch(/^Sorry, something went wrong on our side/);
  expect(JSON.stringify(events)).not.toMatch(/srv|onnx|sk-live|500/);
  expect(String((logged[0] as Error)?.message ?? logged[0])).toContain('sk-live-123');
  await shop.close();
});
