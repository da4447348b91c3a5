// Which guard checks what, at every stage of the bot's loop.
import type { StageGuards, GuardSetting } from '@lookout/core';
import { PiiGuard, SizeLimitGuard, type Guard } from '@lookout/guards';

export interface ShopGuardOptions {
  /** Llama Guard 3 (or any moderation guard): the customer's text and photos, and every reply. */
  moderation?: Guard;
  /** Prompt Guard: tool results (order data could carry injected instructions). */
  promptGuard?: Guard;
  /** Extra guards on the customer's messages (e.g. a shop-specific blocklist). */
  input?: Guard[];
  /** Extra guards on the bot's replies. */
  output?: Guard[];
  /** Per-guard time limit; a guard that misses it blocks (fail-closed). Default 30 s (CPU guards are slow). */
  timeoutMs?: number;
}

/** Text and photo limits for one customer message. */
export const MESSAGE_LIMITS = { maxTextLength: 4_000, maxImages: 4, maxImageBytes: 5 * 1024 * 1024, maxTotalImageBytes: 12 * 1024 * 1024 };

export function shopGuards(options: ShopGuardOptions): StageGuards {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const entry = (guard: Guard): GuardSetting => ({ guard, timeoutMs });
  // PII is redacted, not blocked: the customer may type their card number, the transcript keeps "[REDACTED:CARD]".
  const pii: GuardSetting = { guard: new PiiGuard({ action: 'redact', name: 'pii-redaction' }), action: 'redact' };
  return {
    input: [
      new SizeLimitGuard(MESSAGE_LIMITS, 'message-limits'),
      pii,
      ...(options.moderation ? [entry(options.moderation)] : []),
      ...(options.input ?? []).map(entry),
    ],
    output: [...(options.moderation ? [entry(options.moderation)] : []), ...(options.output ?? []).map(entry)],
    toolResult: options.promptGuard ? [entry(options.promptGuard)] : [],
  };
}
