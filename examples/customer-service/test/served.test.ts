// The bot on a served engine (--base-url): a minimal OpenAI-compatible server streams the reply
// over SSE; the shop's input guards run before anything is sent to it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadChatModel } from '../src/models.js';
import { ShopClient, replyText, startShop } from './helpers.js';

const REPLY = 'Your order A-1001 was delivered four days ago, to the parcel box at your door. Is anything wrong with it? I can open a refund request for you.';
const received: any[] = [];
let engine: Server;
let baseUrl: string;

beforeAll(async () => {
  engine = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({ url: req.url, auth: req.headers.authorization, body: JSON.parse(body) });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: object, finish: string | null, extra: object = {}) =>
      res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'llama', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`);
    for (let i = 0; i < REPLY.length; i += 9) chunk({ content: REPLY.slice(i, i + 9) }, null);
    chunk({}, 'stop', { usage: { prompt_tokens: 50, completion_tokens: 18, total_tokens: 68 } });
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(engine.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => engine.close(() => resolve())));

it('streams replies from an OpenAI-compatible engine; redacted input is all the engine ever receives', async () => {
  const loaded = await loadChatModel({ kind: 'served', baseUrl, model: 'meta-llama/Llama-3.2-11B-Vision-Instruct', apiKey: 'secret' });
  expect(loaded.notReal).toBe(false);
  const shop = await startShop({ model: loaded.model, inputGuardMode: 'sequential' });
  const ada = await ShopClient.signIn(shop.url, 'cus_ada');
  const { events } = await ada.send('Is A-1001 delivered? My card is 4111 1111 1111 1111');
  expect(replyText(events)).toBe(REPLY);
  expect(events.filter((e) => e.event === 'delta').length).toBeGreaterThan(2);
  expect(received).toHaveLength(1);
  expect(received[0]).toMatchObject({ url: '/v1/chat/completions', auth: 'Bearer secret', body: { model: 'meta-llama/Llama-3.2-11B-Vision-Instruct', stream: true } });
  expect(JSON.stringify(received[0].body)).not.toContain('4111');
  expect(JSON.stringify(received[0].body)).toContain('[REDACTED:CARD]');
  // The shop's tools go to the engine as OpenAI function tools.
  expect(received[0].body.tools.map((t: any) => t.function.name)).toContain('open_refund_request');
  await shop.close();
  await rm(shop.dataDir, { recursive: true, force: true });
});
