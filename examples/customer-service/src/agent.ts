// The support bot: a guarded Agent with the shop's tools, system prompt and polite refusals.
import { Agent, type BlockInfo, type SessionStore, type StageGuards } from '@lookout/core';
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import type { ShopStore } from './store/types.js';
import { DEFAULT_POLICY, shopTools, type RefundPolicy, type ShopContext } from './tools.js';

export interface ShopAgentOptions {
  model: LanguageModel;
  db: ShopStore;
  sessions: SessionStore;
  guards: StageGuards;
  policy?: RefundPolicy;
  sampling?: SamplingSettings;
  /**
   * 'parallel' (default) would start the model while input guards run; 'sequential' waits for
   * them. The shop's input guards include PII redaction (action 'redact'), and the agent waits
   * for input guards whenever one redacts, so in this bot nothing reaches the model (in-process
   * or served) before the guards passed or redacted it, in either mode.
   */
  inputGuardMode?: 'parallel' | 'sequential';
  /** Replies are checked and released in pieces of this many characters. Default 80. */
  outputChunkChars?: number;
  /**
   * Characters of checked reply kept back until the next check passed, so a flagged span that a
   * later piece completes goes out in no part. Default 48: the longest payment-data span the
   * reply guard looks for (an IBAN of up to 34 characters written in groups of four).
   */
  outputHoldbackChars?: number;
}

const SYSTEM = `You are the customer-service assistant of Lookout Home, a small online shop for kitchenware.
Help the signed-in customer with their orders: look orders up, explain the refund policy, open refund
requests, and hand over to a human when you cannot help. Customers may send photos of damaged parcels
or receipts. Only use the tools for order data; never invent order details. Be brief and friendly.`;

/** The refusal a customer sees instead of a blocked message or reply. */
export function politeRefusal(info: BlockInfo): string {
  if (info.stage === 'input') {
    if (info.verdict.categories.some((c) => c.startsWith('size:'))) {
      return `Sorry, that message is too large for me (${info.verdict.reason ?? 'size limit'}). Please send a shorter message or fewer, smaller photos.`;
    }
    return "Sorry, I can't help with that message. If you have a question about an order, a refund or a delivery, I'm happy to help.";
  }
  return "Sorry, I can't share that reply. Could you rephrase your question? I can also hand you over to a member of our team.";
}

export function createShopAgent(options: ShopAgentOptions): Agent<ShopContext> {
  return new Agent<ShopContext>({
    model: options.model,
    tools: shopTools(options.db, options.policy ?? DEFAULT_POLICY),
    guards: options.guards,
    system: SYSTEM,
    sessions: options.sessions,
    refusal: politeRefusal,
    // Short pieces so the released reply streams visibly while every piece is checked first.
    outputChunkChars: options.outputChunkChars ?? 80,
    outputHoldbackChars: options.outputHoldbackChars ?? 48,
    sampling: options.sampling,
    maxSteps: 6,
    inputGuardMode: options.inputGuardMode,
  });
}
