// Turns stored conversation messages into what the chat page shows, and the customer's upload
// into content parts the agent accepts.
import type { BlockInfo, TurnRecord } from '@lookout/core';
import type { ChatMessage, ContentPart } from '@lookout/runtime';
import { HttpError } from './http.js';

export interface ShownMessage {
  /** 'notice': a note from the shop, e.g. why a message was not sent. */
  role: 'customer' | 'bot' | 'tool' | 'notice';
  text: string;
  /** data: URLs of the customer's photos. */
  images: string[];
  /** A message a guard withheld, or the refusal that replaced it. */
  blocked?: boolean;
  /** A message the server refused before it reached the bot (e.g. an unreadable photo). */
  refused?: boolean;
}

export const FAILED_TURN_APOLOGY =
  'Sorry, something went wrong while we were finishing this reply. Anything already done (such as a refund) stays done and will not be repeated; please write again if you need more.';

const SHOWN_IMAGE = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=]+$/;
const TOOL_LABELS: Record<string, string> = {
  lookup_order: 'looked up an order',
  list_orders: 'listed your orders',
  check_refund_policy: 'checked the refund policy',
  open_refund_request: 'opened a refund request',
  hand_over_to_human: 'handed over to a colleague',
};

export function toolLabel(name: string): string {
  return TOOL_LABELS[name] ?? `used ${name}`;
}

/** Tool results stay out of the page: they are data for the model, not for the customer. */
export function showMessages(messages: ChatMessage[]): ShownMessage[] {
  const shown: ShownMessage[] = [];
  for (const m of messages) {
    if (m.role === 'user') {
      if (typeof m.content === 'string') shown.push({ role: 'customer', text: m.content, images: [] });
      else
        shown.push({
          role: 'customer',
          text: m.content.map((p) => (p.type === 'text' ? p.text : '')).join(''),
          // Only inline images are shown back; stored data: URLs are what the session store writes.
          images: m.content.flatMap((p) => (p.type === 'image' && typeof p.image === 'string' && SHOWN_IMAGE.test(p.image) ? [p.image] : [])),
        });
    } else if (m.role === 'assistant') {
      for (const call of m.toolCalls ?? []) shown.push({ role: 'tool', text: toolLabel(call.name), images: [] });
      if (m.content) shown.push({ role: 'bot', text: m.content, images: [] });
    }
  }
  return shown;
}

/**
 * Stored turns as the page shows them. Blocked input is not kept in the conversation (by design),
 * so a blocked turn shows a placeholder and the refusal the customer got.
 */
export function showTurns(turns: TurnRecord[], refusal: (info: BlockInfo) => string): ShownMessage[] {
  const shown: ShownMessage[] = [];
  for (const turn of turns) {
    const messages = showMessages(turn.messages);
    if (turn.status === 'error') {
      // A reply that failed half-way: what happened stays visible, with an apology.
      shown.push(...messages, { role: 'notice', text: FAILED_TURN_APOLOGY, images: [] });
      continue;
    }
    if (turn.status !== 'blocked') {
      shown.push(...messages);
      continue;
    }
    const entry = turn.audit.find((e) => e.kind === 'verdict' && !e.safe && (e.stage === 'input' || e.stage === 'output'));
    const info: BlockInfo | undefined =
      entry?.kind === 'verdict'
        ? { stage: entry.stage, verdict: { safe: false, categories: entry.categories, guard: entry.guard, latencyMs: entry.latencyMs, score: entry.score } }
        : undefined;
    if (info?.stage === 'input' || messages.length === 0) {
      shown.push({ role: 'customer', text: '(message withheld by moderation)', images: [], blocked: true });
      shown.push({ role: 'bot', text: refusal(info ?? { stage: 'input', verdict: { safe: false, categories: [], guard: 'unknown', latencyMs: 0 } }), images: [], blocked: true });
      continue;
    }
    const last = messages.findLastIndex((m) => m.role === 'bot');
    if (last >= 0) messages[last] = { ...messages[last]!, blocked: true };
    shown.push(...messages);
  }
  return shown;
}

const UPLOAD = /^data:(image\/(?:png|jpeg|webp|gif));base64,([A-Za-z0-9+/=]+)$/;

export interface ChatUpload {
  text: string;
  images: string[];
}

/**
 * Validates the page's upload and builds content parts. Images arrive as data: URLs and are
 * decoded to bytes here, so a string the browser sends can never name a file on the server.
 */
export function toContentParts(body: unknown, maxImages: number): ContentPart[] {
  const b = body as Partial<ChatUpload> | null;
  if (!b || typeof b !== 'object') throw new HttpError(400, 'invalid-message', 'Send {"text": string, "images": [data: URL, ...]}.');
  const text = typeof b.text === 'string' ? b.text.trim() : '';
  const images = b.images ?? [];
  if (!Array.isArray(images)) throw new HttpError(400, 'invalid-message', '"images" must be an array of data: URLs.');
  if (images.length > maxImages) throw new HttpError(400, 'too-many-images', `${images.length} photos sent; at most ${maxImages} per message.`);
  if (!text && images.length === 0) throw new HttpError(400, 'empty-message', 'Type a message or attach a photo.');
  const parts: ContentPart[] = [];
  if (text) parts.push({ type: 'text', text });
  for (const [i, image] of images.entries()) {
    const match = typeof image === 'string' ? UPLOAD.exec(image) : null;
    if (!match) throw new HttpError(400, 'invalid-image', `Photo ${i + 1} is not a PNG, JPEG, WebP or GIF data: URL.`);
    parts.push({ type: 'image', image: new Uint8Array(Buffer.from(match[2]!, 'base64')), mediaType: match[1] });
  }
  return parts;
}
