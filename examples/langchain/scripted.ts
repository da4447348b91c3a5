// A scripted stand-in for Llama 3.2 Vision behind ChatLookout: it calls the tools a real model
// would and answers from their results, deciding from the conversation alone.
import { ScriptedModel, callTool, say, type ScriptItem } from '@lookout/core/testing';
import type { ModelRequest } from '@lookout/runtime';

function nextStep(request: ModelRequest): ScriptItem[] {
  const messages = request.messages ?? [];
  const userIndex = messages.findLastIndex((m) => m.role === 'user');
  const user = messages[userIndex];
  const text = user?.role === 'user' ? (typeof user.content === 'string' ? user.content : user.content.map((p) => (p.type === 'text' ? p.text : '')).join(' ')) : '';
  const results = messages.slice(userIndex + 1).filter((m) => m.role === 'tool');
  const last = results.at(-1);
  const orderId = /A-\d{4}/.exec(text)?.[0];
  if (!last) {
    if (/track/i.test(text)) return [callTool('track_parcel', { tracking: 'JD0146' })];
    if (orderId) return [callTool('lookup_order', { orderId })];
    return say('How can I help with your order?');
  }
  if (last.role !== 'tool') return say('Done.');
  if (last.name === 'lookup_order') {
    const order = JSON.parse(last.content);
    return say(`Order ${order.orderId} is ${order.status} with ${order.carrier} (tracking ${order.tracking || 'not yet'}).`, { chunk: 10 });
  }
  // The tool-result guard may have replaced the carrier's text with a notice.
  if (last.content.startsWith('[')) return say("I couldn't read the carrier's tracking page safely; please check it on the carrier's site.", { chunk: 10 });
  return say(`Tracking: ${last.content}`, { chunk: 10 });
}

export function scriptedShopModel(): ScriptedModel {
  return new ScriptedModel({ id: 'scripted-langchain-demo', steps: [nextStep], whenExhausted: 'repeat-last' });
}
