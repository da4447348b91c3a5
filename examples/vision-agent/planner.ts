// A scripted stand-in for Llama 3.2 Vision (the default without --model-dir / --base-url): it
// makes the tool calls a real model would, reading each tool result, and writes the answer.
// It decides from the conversation alone, so a restarted step (after input redaction) is fine.
import { ScriptedModel, callTool, say, type ScriptItem } from '@lookout/core/testing';
import type { ChatMessage, ModelRequest } from '@lookout/runtime';

function parsed(message: ChatMessage | undefined): any {
  if (message?.role !== 'tool') return undefined;
  try {
    return JSON.parse(message.content);
  } catch {
    return { error: message.content };
  }
}

function nextStep(request: ModelRequest): ScriptItem[] {
  const messages = request.messages ?? [];
  const turn = messages.slice(messages.findLastIndex((m) => m.role === 'user') + 1);
  const result = (name: string) => parsed(turn.findLast((m) => m.role === 'tool' && m.name === name));
  const measured = result('measure_object');
  const found = result('lookup_product');
  if (!measured) return [callTool('measure_object', {})];
  if (measured.error || measured.widthCm === undefined) return say(`I could not measure the object: ${measured.error ?? 'no result'}`);
  // A centimetre of room in each direction.
  if (!found) return [callTool('lookup_product', { minWidthCm: measured.widthCm + 1, minHeightCm: measured.heightCm + 1, color: measured.color })];
  const size = `The ${measured.color} object measures ${measured.widthCm} × ${measured.heightCm} cm. `;
  if (!found.products?.length) return say(`${size}Nothing in the catalogue fits it, sorry.`, { chunk: 12 });
  const list = found.products.map((p: any) => `${p.name} (${p.sku}, ${p.innerWidthCm} × ${p.innerHeightCm} cm, €${p.price}): ${p.description}`);
  return say(`${size}Packaging that fits:\n- ${list.join('\n- ')}`, { chunk: 12 });
}

export function scriptedPlanner(): ScriptedModel {
  return new ScriptedModel({ id: 'scripted-vision-planner', steps: [nextStep], whenExhausted: 'repeat-last' });
}
