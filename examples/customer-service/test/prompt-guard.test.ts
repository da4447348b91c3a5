// A real PromptGuard (ONNX classifier in a worker thread) in the bot's tool-result slot, on a
// generated tiny classifier: thresholds at the two ends of (0, 1] make its verdicts certain.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { PromptGuard } from '@lookout/guards';
import { writeTinyClassifier } from '@lookout/guards/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShopClient, startShop } from './helpers.js';

let root: string;
const guards: PromptGuard[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lookout-shop-prompt-guard-'));
  await writeTinyClassifier(root, { labels: ['BENIGN', 'INJECTION', 'JAILBREAK'], words: { ignore: [0, 16, 1], instructions: [0, 16, 1] } });
});

afterAll(async () => {
  await Promise.all(guards.map((g) => g.close()));
  await rm(root, { recursive: true, force: true });
});

async function promptGuard(threshold: number): Promise<PromptGuard> {
  const guard = await PromptGuard.load(root, { thresholds: { 'tool-result': threshold }, name: 'prompt-guard' });
  guards.push(guard);
  return guard;
}

/** Ada asks about her order; the scripted model looks it up, then answers. */
async function lookUpOrder(threshold: number) {
  const model = new ScriptedModel({ steps: [[callTool('lookup_order', { orderId: 'A-1001' })], say('Here is what I found.')] });
  const shop = await startShop({ model, guards: { promptGuard: await promptGuard(threshold) } });
  try {
    const ada = await ShopClient.signIn(shop.url, 'cus_ada');
    await ada.send('What is in A-1001?');
    const audit = await shop.agent.auditLog((await shop.db.conversations())[0]!.sessionKey);
    const seen = model.requests[1]!.messages!.at(-1) as { role: string; name?: string; content: string };
    return { seen, audit, requests: JSON.stringify(model.requests) };
  } finally {
    await shop.close();
    await rm(shop.dataDir, { recursive: true, force: true });
  }
}

describe('Prompt Guard on tool results', () => {
  it('replaces a tool result it flags with the notice, so the model never reads the order data', async () => {
    // Any score is at least the smallest positive threshold: every tool result is flagged.
    const { seen, audit, requests } = await lookUpOrder(Number.MIN_VALUE);
    expect(seen).toMatchObject({ role: 'tool', name: 'lookup_order' });
    expect(seen.content).toContain('was withheld: guard "prompt-guard" flagged it (prompt-guard:injection)');
    expect(seen.content).not.toContain('A-1001');
    expect(requests).not.toContain('"status"');
    const verdict = audit.find((e) => e.kind === 'verdict' && e.guard === 'prompt-guard');
    expect(verdict).toMatchObject({ stage: 'tool-result', safe: false, categories: ['prompt-guard:injection'] });
    expect((verdict as { score: number }).score).toBeGreaterThan(0);
  });

  it('passes a tool result it scores below the threshold unchanged', async () => {
    // A softmax score never reaches 1 on this classifier: every tool result passes.
    const { seen, audit } = await lookUpOrder(1);
    expect(seen).toMatchObject({ role: 'tool', name: 'lookup_order' });
    expect(seen.content).toContain('A-1001');
    expect(seen.content).not.toContain('withheld');
    expect(audit.find((e) => e.kind === 'verdict' && e.guard === 'prompt-guard')).toMatchObject({ stage: 'tool-result', safe: true });
  });
});
