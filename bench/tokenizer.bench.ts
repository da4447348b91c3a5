// Prompt encoding throughput: a long chat (tools, tool calls, results, ~40 turns) rendered with
// renderChat and encoded with encodeSegments (special tokens only from template segments), against
// the raw tokenizer encoding the same rendered string with special tokens allowed. Also the
// streaming decoder (one id at a time) against decoding all ids in one call.
// Imported by path: the root package does not depend on @lookout/runtime, and the tokenizer and
// chat folders are all this bench needs.
import { buildLlama3TokenizerFiles, LlamaTokenizer, renderChat, segmentsToString, type ChatMessage, type ToolSpec } from '@lookout/runtime';
import type { Bench } from './report.js';

const TOOLS: ToolSpec[] = [
  {
    name: 'order_status',
    description: 'Look up the status of a customer order by its id.',
    parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
  },
  {
    name: 'refund',
    description: 'Start a refund for a damaged item.',
    parameters: { type: 'object', properties: { orderId: { type: 'string' }, reason: { type: 'string' }, amount: { type: 'number' } } },
  },
];

function longChat(turns: number): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: 'You are the support assistant of an online shop. Be brief and polite.' }];
  for (let i = 0; i < turns; i++) {
    messages.push({
      role: 'user',
      content: `Order #${1000 + i} arrived damaged — the box was crushed and the mug inside is broken (photo ${i}). Können Sie helfen? 🙏`,
    });
    messages.push({ role: 'assistant', content: '', toolCalls: [{ id: `c${i}`, name: 'order_status', arguments: { orderId: String(1000 + i) } }] });
    messages.push({ role: 'tool', toolCallId: `c${i}`, name: 'order_status', content: JSON.stringify({ status: 'delivered', carrier: 'DHL', days: i % 7 }) });
    messages.push({ role: 'assistant', content: `I am sorry about order ${1000 + i}. I have started a refund of ${(12.5 + i).toFixed(2)} EUR; it takes 3-5 days.` });
  }
  return messages;
}

function rate(fn: () => void, ms = 2000): number {
  fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

const bench: Bench = async (report) => {
  const files = buildLlama3TokenizerFiles({ imageToken: true });
  const tok = LlamaTokenizer.fromJSON(files.tokenizerJson, files.tokenizerConfig);
  const messages = longChat(40);
  const options = { tools: TOOLS, date: '26 Jul 2024', addGenerationPrompt: true };
  const segments = renderChat(messages, options);
  const text = segmentsToString(segments);
  const ids = tok.encodeSegments(segments);
  const raw = tok.encode(text, { allowSpecial: true });
  if (ids.length !== raw.length || ids.some((id, i) => id !== raw[i])) throw new Error('encodeSegments and raw encode disagree on the bench chat');

  const rawRate = rate(() => tok.encode(text, { allowSpecial: true })) * ids.length;
  const segRate = rate(() => tok.encodeSegments(renderChat(messages, options))) * ids.length;
  report({
    name: `render + encodeSegments, ${messages.length}-message chat (${ids.length} tokens)`,
    value: segRate,
    unit: 'tokens/s',
    baseline: { name: 'raw encode of the same string', value: rawRate },
  });

  const wholeRate = rate(() => tok.decode(ids)) * ids.length;
  const streamRate =
    rate(() => {
      const decoder = tok.createStreamingDecoder();
      for (const id of ids) decoder.push(id);
      decoder.flush();
    }) * ids.length;
  report({
    name: 'streaming decode, one id per push',
    value: streamRate,
    unit: 'tokens/s',
    baseline: { name: 'decode(all ids) in one call', value: wholeRate },
  });
};

export default bench;
