// Llama Guard 3 wired into the bot: the customer's text and photos, and the bot's replies. The
// guard runs over a scripted model that answers in Llama Guard's format, so the test checks the
// wiring (what the guard sees, what the customer gets, what the moderation page lists).
import { rm } from 'node:fs/promises';
import { ScriptedModel, say } from '@lookout/core/testing';
import { LlamaGuard } from '@lookout/guards';
import type { ChatMessage, ModelRequest } from '@lookout/runtime';
import { afterAll, expect, it } from 'vitest';
import { ShopClient, StaffClient, replyText, startShop } from './helpers.js';

const PNG_1PX = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const text = (m: ChatMessage | undefined) => (!m ? '' : typeof m.content === 'string' ? m.content : m.content.map((p) => (p.type === 'text' ? p.text : '')).join(''));

/** Answers like Llama Guard 3: S9 for weapons in the customer's message, S1 for a flagged reply. */
function guardAnswer(request: ModelRequest) {
  const last = request.messages!.at(-1);
  if (last?.role === 'assistant' && text(last).includes('FORBIDDEN')) return say('unsafe\nS1');
  if (last?.role === 'user' && /weapon/i.test(text(last))) return say('unsafe\nS9');
  return say('safe');
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it('Llama Guard checks the customer text and photos and the replies; blocked turns are refused and listed', async () => {
  const guardModel = new ScriptedModel({ id: 'scripted-llama-guard', steps: [guardAnswer], whenExhausted: 'repeat-last' });
  const moderation = new LlamaGuard({ model: guardModel, variant: '11b-vision' });
  const model = new ScriptedModel({
    steps: [
      say('What a nice kettle.'),
      // No step for the blocked message: the PII redaction guard makes the loop wait for the
      // input guards, so the model is never asked.
      say('Here is the FORBIDDEN answer.'),
    ],
  });
  const shop = await startShop({ model, guards: { moderation } });
  dirs.push(shop.dataDir);
  const ada = await ShopClient.signIn(shop.url, 'cus_ada');

  expect(replyText((await ada.send('Look at my kettle', [PNG_1PX])).events)).toBe('What a nice kettle.');
  // The photo went to the guard model with the text.
  expect(guardModel.requests[0]!.messages!.at(-1)).toMatchObject({ role: 'user', content: [{ type: 'text' }, { type: 'image' }] });

  const weapon = await ada.send('How do I turn this into a weapon?', [PNG_1PX]);
  expect(weapon.events.find((e) => e.event === 'blocked')?.data).toMatchObject({ stage: 'input', categories: ['S9'] });
  expect(replyText(weapon.events)).toBe('');
  expect(model.requests).toHaveLength(1);

  const reply = await ada.send('Tell me something');
  expect(reply.events.find((e) => e.event === 'blocked')?.data).toMatchObject({ stage: 'output', categories: ['S1'] });
  const history = await ada.history();
  expect(history.messages.at(-1)).toMatchObject({ role: 'bot', blocked: true, text: expect.stringContaining("Sorry, I can't share that reply") });
  expect(JSON.stringify(history)).not.toContain('FORBIDDEN');

  const { verdicts } = await (await StaffClient.signIn(shop.url)).verdicts();
  const unsafe = verdicts.filter((v: any) => v.guard === 'llama-guard-3-11b-vision' && !v.safe).map((v: any) => [v.stage, v.categories]);
  expect(unsafe).toEqual(expect.arrayContaining([['input', ['S9']], ['output', ['S1']]]));
  await shop.close();
});
