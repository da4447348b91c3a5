// LangChain createAgent + ChatLookout + Lookout guard middleware, three turns printed.
// Run: node --import tsx examples/langchain/main.ts [--base-url <url> --model <name> | --model-dir <dir>]
import { parseArgs } from 'node:util';
import { HumanMessage, type BaseMessage } from '@langchain/core/messages';
import { OnnxModel, OpenAICompatibleModel, type LanguageModel } from '@lookout/runtime';
import { createShopLangChainAgent } from './agent.js';
import { scriptedShopModel } from './scripted.js';

const { values } = parseArgs({ options: { 'base-url': { type: 'string' }, model: { type: 'string' }, 'model-dir': { type: 'string' } } });
let model: LanguageModel & { dispose?(): Promise<void> };
if (values['model-dir']) model = await OnnxModel.load(values['model-dir']);
else if (values['base-url']) {
  if (!values.model) {
    console.error('langchain example: --base-url needs --model <name>, the model name the engine serves');
    process.exit(2);
  }
  model = new OpenAICompatibleModel({ baseUrl: values['base-url'], model: values.model });
} else {
  model = scriptedShopModel();
  console.log('[model] scripted stand-in behind ChatLookout (pass --base-url/--model or --model-dir for a real one)');
}

const agent = createShopLangChainAgent({
  model,
  onVerdict: (stage, v) => {
    if (!v.safe) console.log(`  [guard] ${stage} ${v.guard}: unsafe ${v.categories.join(',')}`);
  },
});

let messages: BaseMessage[] = [];
for (const text of ['Where is my order A-1001?', 'Can you track the parcel?', 'Refund it to my card 4111 1111 1111 1111']) {
  console.log(`> ${text}`);
  const state = await agent.invoke({ messages: [...messages, new HumanMessage(text)] });
  messages = state.messages;
  for (const m of state.messages.slice(-3)) if (m.getType() === 'tool') console.log(`  [tool ${(m as { name?: string }).name}] ${m.text}`);
  console.log(state.messages.at(-1)!.text);
}
await model.dispose?.();
