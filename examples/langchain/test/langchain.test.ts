import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HumanMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { createShopLangChainAgent } from '../agent.js';
import { scriptedShopModel } from '../scripted.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PNG_1PX = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('LangChain example', () => {
  it('runs: tool call answered, injected tool result withheld, card number blocked', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/langchain/main.ts'], { cwd: root });
    expect(stdout).toContain('[tool lookup_order] {"orderId":"A-1001","status":"shipped"');
    expect(stdout).toContain('Order A-1001 is shipped with DHL (tracking JD0146).');
    expect(stdout).toContain('[guard] tool-result injection-heuristic: unsafe prompt-injection');
    expect(stdout).not.toContain('customs fee');
    expect(stdout).toContain("I couldn't read the carrier's tracking page safely");
    expect(stdout).toContain('[guard] input payment-data: unsafe pii:card');
    expect(stdout).toContain("Sorry, I can't take that message.");
  });

  it('the blocked card number never reaches the model, and photos do', async () => {
    const model = scriptedShopModel();
    const stages: string[] = [];
    const agent = createShopLangChainAgent({ model, onVerdict: (stage) => stages.push(stage) });
    const photo = await agent.invoke({
      messages: [new HumanMessage({ content: [{ type: 'text', text: 'Here is the damaged parcel of A-1002' }, { type: 'image_url', image_url: { url: PNG_1PX } }] })],
    });
    expect(photo.messages.at(-1)!.text).toBe('Order A-1002 is processing with none yet (tracking not yet).');
    expect(model.requests[0]!.messages!.find((m) => m.role === 'user')).toMatchObject({ content: [{ type: 'text' }, { type: 'image' }] });
    // No moderation model configured: input and tool-result guards only.
    expect(stages).toEqual(['input', 'tool-result']);

    const before = model.requests.length;
    const blocked = await agent.invoke({ messages: [new HumanMessage('my card is 4111 1111 1111 1111')] });
    expect(blocked.messages.at(-1)!.text).toContain("Sorry, I can't take that message.");
    expect(model.requests.length).toBe(before);
  });
});
