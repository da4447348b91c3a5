// The support bot: a guarded Agent with the shop's tools, system prompt and polite refusals.
import { Agent, type BlockInfo, type SessionStore, type StageGuards } from '@lookout/core';
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import type { ShopDb } from './db.js';
import { DEFAULT_POLICY, shopTools, type RefundPolicy, type ShopContext } from './tools.js';

export interface ShopAgentOptions {
  model: LanguageModel;
  db: ShopDb;
  sessions: SessionStore;
  guards: StageGuards;
  policy?: RefundPolicy;
  sampling?: SamplingSettings;
  /**
   * 'parallel' (default) starts the model while input guards run (faster first token; fine for an
   * in-process model). 'sequential' lets nothing reach the model before the guards passed or
   * redacted it: use it for a served model, so blocked or personal data never leaves the machine.
   */
  inputGuardMode?: 'parallel' | 'sequential';
  /** Replies are checked and released in pieces of this many characters. Default 80. */
  outputChunkChars?: number;
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
    sampling: options.sampling,
    maxSteps: 6,
    inputGuardMode: options.inputGuardMode,
  });
}
