// A scripted stand-in for Llama 3.2 Vision (--model demo): fixed rules over the conversation
// that call the shop's tools the way a real model would, so every path of the bot (tool calls,
// refunds that need approval, hand-over, streaming) can be shown without model weights.
import type { ChatMessage, LanguageModel, ModelCapabilities, ModelEvent, ModelRequest, StreamOptions } from '@lookout/runtime';

const ORDER_ID = /\bA-\d{4}\b/i;
const REFUND_INTENT = /\b(refund|money back|broken|damaged|cracked|dented|smashed|return)\b/i;
const HUMAN_INTENT = /\b(human|person|someone|agent|manager|staff)\b/i;
const POLICY_INTENT = /\b(policy|refunds?|returns?)\b/i;
const ORDERS_INTENT = /\b(my orders|orders|order history)\b/i;

type Step = { say: string } | { call: string; args: Record<string, unknown> };

export interface DemoModelOptions {
  /** Characters per streamed delta. Default 6. */
  chunk?: number;
  /** Pause between deltas, so streaming is visible. Default 12 ms. */
  delayMs?: number;
}

export class DemoShopModel implements LanguageModel {
  readonly id = 'demo:scripted-shop-assistant';
  readonly capabilities: ModelCapabilities = { images: true, tools: true, logprobs: false, rawPrompt: false };

  constructor(private readonly options: DemoModelOptions = {}) {}

  async *stream(request: ModelRequest, options: StreamOptions = {}): AsyncIterable<ModelEvent> {
    const step = nextStep(request.messages ?? []);
    const signal = options.signal;
    if ('call' in step) {
      yield { type: 'tool-call', call: { id: `call_${Math.random().toString(36).slice(2, 10)}`, name: step.call, arguments: step.args } };
      yield { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 0, outputTokens: 8 } };
      return;
    }
    const size = this.options.chunk ?? 6;
    for (let i = 0; i < step.say.length; i += size) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      await new Promise((r) => setTimeout(r, this.options.delayMs ?? 12));
      yield { type: 'text-delta', text: step.say.slice(i, i + size) };
    }
    yield { type: 'finish', reason: 'stop', usage: { inputTokens: 0, outputTokens: Math.ceil(step.say.length / 4) } };
  }
}

function textOf(message: ChatMessage | undefined): string {
  if (!message) return '';
  if (typeof message.content === 'string') return message.content;
  return message.content.map((p) => (p.type === 'text' ? p.text : '')).join(' ');
}

function imageCount(message: ChatMessage | undefined): number {
  return message?.role === 'user' && typeof message.content !== 'string' ? message.content.filter((p) => p.type === 'image').length : 0;
}

function parse(content: string): Record<string, any> | undefined {
  try {
    const value = JSON.parse(content);
    return value && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Decides the next step from the latest user message and the tool results of this turn. */
export function nextStep(messages: ChatMessage[]): Step {
  const userIndex = messages.findLastIndex((m) => m.role === 'user');
  const user = messages[userIndex];
  const text = textOf(user);
  const turn = messages.slice(userIndex + 1);
  const last = turn.at(-1);

  if (last?.role === 'tool') return afterTool(last, text, turn);

  const orderId = text.match(ORDER_ID)?.[0].toUpperCase();
  if (HUMAN_INTENT.test(text)) return { call: 'hand_over_to_human', args: { summary: text.slice(0, 280) || 'Customer asked for a person' } };
  if (orderId) return { call: 'lookup_order', args: { orderId } };
  if (POLICY_INTENT.test(text)) return { call: 'check_refund_policy', args: {} };
  if (ORDERS_INTENT.test(text)) return { call: 'list_orders', args: {} };
  const photos = imageCount(user);
  if (photos > 0) {
    return { say: `Thanks for the photo${photos > 1 ? 's' : ''}. Which order is this about? Order numbers look like A-1001.` };
  }
  return { say: 'Hello! I can look up your orders, explain our refund policy, open a refund request or hand you over to a colleague. How can I help?' };
}

function afterTool(result: Extract<ChatMessage, { role: 'tool' }>, userText: string, turn: ChatMessage[]): Step {
  const data = parse(result.content);
  if (!data && result.name === 'open_refund_request' && /rejected the call/.test(result.content)) {
    const why = result.content.split(': ').slice(1).join(': ').replace(/\.$/, '');
    return { say: `A member of our staff reviewed the refund and could not approve it${why ? `: ${why}` : ''}. Reply here if you would like a colleague to look again.` };
  }
  if (!data) return { say: `Sorry, that did not work: ${result.content}` };
  switch (result.name) {
    case 'lookup_order': {
      if (!data.found) return { say: `I couldn't find that order on your account. Could you check the number? ${data.message ?? ''}`.trim() };
      const refundAsked = REFUND_INTENT.test(userText) && !turn.some((m) => m.role === 'tool' && m.name === 'open_refund_request');
      const left = Math.round((data.total - (data.alreadyRefunded ?? 0)) * 100) / 100;
      if (refundAsked && data.status === 'delivered' && left > 0) {
        return { call: 'open_refund_request', args: { orderId: data.orderId, amount: left, reason: userText.slice(0, 480) } };
      }
      const delivered = data.deliveredAt ? `, delivered on ${data.deliveredAt}` : '';
      return { say: `Order ${data.orderId} (${data.items.join(', ')}; ${data.total} ${data.currency}) is ${data.status}${delivered}.` };
    }
    case 'open_refund_request':
      if (data.opened) return { say: `Done: refund #${data.refundId} of ${data.amount} ${data.currency} for order ${data.orderId} is ${data.status}. It reaches your card in 3-5 working days.` };
      return { say: `I couldn't open that refund. ${data.reason ?? data.message ?? ''}`.trim() };
    case 'check_refund_policy':
      return { say: `${data.policy}${data.orderId ? ` For order ${data.orderId}: ${data.why ?? data.message ?? ''}` : ''}` };
    case 'list_orders':
      return { say: data.orders.length ? `Your orders: ${data.orders.map((o: any) => `${o.orderId} (${o.status}, ${o.total} EUR)`).join('; ')}.` : 'You have no orders yet.' };
    case 'hand_over_to_human':
      return { say: `I've passed this to a colleague (ticket #${data.ticket}); they will reply ${data.expectedReply}.` };
    default:
      return { say: 'Done.' };
  }
}
