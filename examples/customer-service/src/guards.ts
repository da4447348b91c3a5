// Which guard checks what, at every stage of the bot's loop.
import type { StageGuards, GuardSetting } from '@lookout/core';
import { PatternGuard, PiiGuard, SizeLimitGuard, type Guard } from '@lookout/guards';

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

/** Words the shop's bot never says, whatever model runs (a random or misbehaving one included). */
export const PROFANITY = ['fuck', 'fucked', 'fucking', 'shit', 'bitch', 'asshole', 'cunt', 'bastard', 'motherfucker'];

/** Cheap heuristic for instructions hidden in tool data; Prompt Guard, when configured, is the real check. */
export const injectionHeuristic = new PatternGuard({
  name: 'injection-heuristic',
  patterns: [/\b(ignore|disregard|forget) (all |any )?(previous|prior|above|earlier) (instructions|rules)\b/i, /<\|(begin_of_text|start_header_id|eot_id|python_tag)\|>/],
  category: 'prompt-injection',
});

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
    output: [
      new PatternGuard({ name: 'profanity', blocklist: PROFANITY, category: 'profanity' }),
      // The bot never has a reason to write out payment data.
      new PiiGuard({ name: 'payment-data', kinds: ['card', 'iban', 'ssn'] }),
      ...(options.moderation ? [entry(options.moderation)] : []),
      ...(options.output ?? []).map(entry),
    ],
    toolResult: [injectionHeuristic, ...(options.promptGuard ? [entry(options.promptGuard)] : [])],
  };
}
