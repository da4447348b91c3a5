// The default start-up path: the tiny random checkpoint, generated and built on first use, runs
// in-process behind the same guards and pages. Its text is random; the test checks the plumbing.
import { rm } from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import { DemoShopModel } from '../src/demo-model.js';
import { loadChatModel, type LoadedModel } from '../src/models.js';
import { ShopClient, replyText, startShop, tempDataDir } from './helpers.js';

const PNG_1PX = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const cleanup: string[] = [];
let loaded: LoadedModel | undefined;

afterAll(async () => {
  await loaded?.dispose();
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

it('serves streamed replies from the tiny in-process Llama 3.2 Vision checkpoint, photo included', async () => {
  const cacheDir = await tempDataDir();
  cleanup.push(cacheDir);
  const lines: string[] = [];
  loaded = await loadChatModel({ kind: 'tiny', cacheDir }, (l) => lines.push(l));
  expect(loaded.model).not.toBeInstanceOf(DemoShopModel);
  expect(loaded.model.id).toMatch(/^mllama:/);
  expect(loaded.banner.join('\n')).toContain('TINY RANDOM');
  expect(lines.join('\n')).not.toContain('could not run');

  const shop = await startShop({ model: loaded.model, sampling: { ...loaded.sampling, maxTokens: 12, seed: 7 } });
  cleanup.push(shop.dataDir);
  const ada = await ShopClient.signIn(shop.url, 'cus_ada');
  const { events } = await ada.send('Hello, the parcel arrived damaged', [PNG_1PX]);
  expect(events.at(-1)).toEqual({ event: 'done', data: { status: 'completed' } });
  expect(events.filter((e) => e.event === 'delta').length).toBeGreaterThan(0);
  const history = await ada.history();
  expect(history.messages.at(-1)).toEqual({ role: 'bot', text: replyText(events), images: [] });
  await shop.close();
});
