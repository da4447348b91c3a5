import { afterEach, describe, expect, it } from 'vitest';
import { HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { OpenAICompatibleModel, type ContentPart } from '@lookout/runtime';
import { ChatLookout } from './chat-lookout.js';
import { LookoutServer } from '../serve/index.js';
import { ScriptedModel, callTool, say } from '../testing/index.js';

const servers: LookoutServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('LangChain → ChatLookout → OpenAICompatibleModel → lookout serve → model', () => {
  it('streams, calls tools and carries images across the wire', async () => {
    const model = new ScriptedModel({
      steps: [
        [...say('A cracked mug.', { chunk: 10 }), { type: 'finish', usage: { inputTokens: 40, outputTokens: 3 } }],
        [callTool('inspect', { part: 'lid' }, 'call_9')],
      ],
    });
    const server = new LookoutServer({ model, modelName: 'llama-3.2-11b-vision' });
    servers.push(server);
    const chat = new ChatLookout({ model: new OpenAICompatibleModel({ baseUrl: await server.listen(0), model: 'llama-3.2-11b-vision' }) });

    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
    const chunks = [];
    for await (const c of await chat.stream([
      new HumanMessage({ content: [{ type: 'image', data: png.toString('base64'), mimeType: 'image/png' }, { type: 'text', text: 'What is this?' }] }),
    ]))
      chunks.push(c);
    const answer = chunks.reduce((a, b) => a.concat(b));
    expect(answer.content).toBe('A cracked mug.');
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 40, output_tokens: 3 });
    const image = (model.requests[0].messages![0].content as ContentPart[])[0] as { image: Uint8Array };
    expect(Buffer.from(image.image).equals(png)).toBe(true);

    const inspect = tool(async () => 'ok', { name: 'inspect', description: 'Inspect a part', schema: z.object({ part: z.string() }) });
    const called = await chat.bindTools([inspect]).invoke('check the lid');
    expect(called.tool_calls).toEqual([{ id: 'call_9', name: 'inspect', args: { part: 'lid' }, type: 'tool_call' }]);
    expect(model.requests[1].tools?.[0]).toMatchObject({ name: 'inspect', parameters: { properties: { part: { type: 'string' } } } });
  });
});
