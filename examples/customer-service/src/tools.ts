// The support bot's tools. Every tool authorises from the signed-in customer in the run context
// (ctx.context), never from the model's arguments: the model can ask for any order number, but
// only the customer's own orders are ever found.
import { defineTool, z, type AnyTool, type ToolContext } from '@lookout/tools';
import type { ShopStore } from './store/types.js';

/** What the server hands every run: who is signed in on this browser session. */
export interface ShopContext {
  customerId: string;
  sessionId: string;
}

export interface RefundPolicy {
  /** Refunds above this amount wait for a member of staff. */
  approvalLimit: number;
  /** Days after delivery in which a refund can be requested. */
  windowDays: number;
  currency: string;
}

export const DEFAULT_POLICY: RefundPolicy = { approvalLimit: 50, windowDays: 30, currency: 'EUR' };

const orderId = z
  .string()
  .regex(/^A-\d{4}$/, 'order numbers look like A-1001')
  .describe('The order number, e.g. A-1001');

type Ctx = ToolContext<ShopContext>;

const NOT_FOUND = (id: string) => ({ found: false as const, message: `There is no order ${id} on this customer's account.` });

export function shopTools(db: ShopStore, policy: RefundPolicy = DEFAULT_POLICY): AnyTool[] {
  const lookupOrder = defineTool({
    name: 'lookup_order',
    description: "Look up one of the signed-in customer's orders: status, items, total, delivery date.",
    input: z.object({ orderId }),
    timeoutMs: 2_000,
    execute: async ({ orderId }, ctx: Ctx) => {
      const order = await db.orderOf(ctx.context.customerId, orderId);
      if (!order) return NOT_FOUND(orderId);
      return {
        found: true as const,
        orderId: order.id,
        status: order.status,
        placedAt: order.placedAt.slice(0, 10),
        deliveredAt: order.deliveredAt?.slice(0, 10) ?? null,
        items: order.items.map((i) => `${i.quantity} × ${i.name}`),
        total: order.total,
        currency: policy.currency,
        alreadyRefunded: await db.refundedAmount(order.id),
      };
    },
  });

  const listOrders = defineTool({
    name: 'list_orders',
    description: "List the signed-in customer's orders (number, status, total).",
    input: z.object({}),
    timeoutMs: 2_000,
    execute: async (_args, ctx: Ctx) => ({
      orders: (await db.ordersOf(ctx.context.customerId)).map((o) => ({ orderId: o.id, status: o.status, total: o.total, placedAt: o.placedAt.slice(0, 10) })),
    }),
  });

  const refundPolicy = defineTool({
    name: 'check_refund_policy',
    description: "The shop's refund policy; with an order number, whether that order can still be refunded.",
    input: z.object({ orderId: orderId.optional() }),
    timeoutMs: 2_000,
    execute: async ({ orderId }, ctx: Ctx) => {
      const text =
        `Delivered orders can be refunded within ${policy.windowDays} days of delivery; damaged goods (send a photo) always qualify in that window. ` +
        `Refunds up to ${policy.approvalLimit} ${policy.currency} are approved at once; larger refunds are checked by a member of staff.`;
      if (!orderId) return { policy: text };
      const order = await db.orderOf(ctx.context.customerId, orderId);
      if (!order) return { policy: text, ...NOT_FOUND(orderId) };
      return { policy: text, orderId, ...eligibility(order.status, order.deliveredAt, policy.windowDays) };
    },
  });

  const openRefund = defineTool({
    name: 'open_refund_request',
    description: `Open a refund request for one of the customer's orders. Amounts above ${policy.approvalLimit} ${policy.currency} wait for staff approval.`,
    input: z.object({
      orderId,
      amount: refundAmount(policy),
      reason: z.string().min(3).max(500).describe('Why, in the customer’s words'),
    }),
    timeoutMs: 2_000,
    // Only a refund the customer may actually get goes to staff; anything else (another
    // customer's order, not eligible, more than is left to refund) runs at once and execute()
    // refuses it, so the model sees why straight away.
    needsApproval: async ({ orderId, amount }, ctx: Ctx) =>
      amount > policy.approvalLimit && (await refundRefusal(db, policy, ctx.context.customerId, orderId, amount)) === undefined,
    execute: async ({ orderId, amount, reason }, ctx: Ctx) => {
      const earlier = await db.refundByKey(ctx.idempotencyKey);
      if (earlier) return opened(earlier);
      const order = await db.orderOf(ctx.context.customerId, orderId);
      if (!order) return NOT_FOUND(orderId);
      const check = eligibility(order.status, order.deliveredAt, policy.windowDays);
      if (!check.eligible) return { opened: false, reason: check.why };
      // Keyed by the tool call: a repeated call (a retry, a recovery) finds this refund, never a
      // second one. The amount left is checked with the insert, so racing refunds cannot exceed it.
      const request = await db.addRefundRequest({ orderId, customerId: ctx.context.customerId, amount, reason, status: 'approved' }, ctx.idempotencyKey);
      if ('exceeds' in request) return { opened: false, reason: `At most ${request.left} ${policy.currency} of order ${orderId} can still be refunded.` };
      return opened(request);
    },
    // After a crash: the refund exists when a row carries this call's key.
    recover: async (_args, ctx: Ctx) => {
      const request = await db.refundByKey(ctx.idempotencyKey);
      return request && request.customerId === ctx.context.customerId ? { output: opened(request) } : null;
    },
  });

  const opened = (r: { id: number; orderId: string; amount: number; status: string }) => ({
    opened: true as const,
    refundId: r.id,
    orderId: r.orderId,
    amount: r.amount,
    currency: policy.currency,
    status: r.status,
  });

  const handOver = defineTool({
    name: 'hand_over_to_human',
    description: 'Hand the conversation over to a human support agent, with a one-line summary of the problem.',
    input: z.object({ summary: z.string().min(3).max(300) }),
    timeoutMs: 2_000,
    execute: async ({ summary }, ctx: Ctx) => ({
      handedOver: true,
      ticket: await db.addHandover(ctx.context.customerId, ctx.context.sessionId, summary),
      expectedReply: 'within one working day, by e-mail',
    }),
  });

  return [lookupOrder, listOrders, refundPolicy, openRefund, handOver];
}

/** Largest amount a single refund may name, whatever the order: no order in the shop comes near it. */
export const MAX_REFUND_AMOUNT = 100_000;

/**
 * What can be told from the amount alone: a finite, positive number of at most two decimals,
 * no larger than MAX_REFUND_AMOUNT. An amount like 1e308 fails here, as a tool error the model sees.
 */
export function refundAmount(policy: RefundPolicy) {
  return z
    .number('amount must be a finite number')
    .positive(`amount must be more than 0 ${policy.currency}`)
    .max(MAX_REFUND_AMOUNT, `amount must be at most ${MAX_REFUND_AMOUNT} ${policy.currency}; a refund is at most what the order cost`)
    .refine((n) => n > MAX_REFUND_AMOUNT || Math.abs(n * 100 - Math.round(n * 100)) < 1e-6, { message: 'amount must have at most two decimals (cents)' })
    .describe(`Amount to refund in ${policy.currency}, at most the order's total minus refunds already made`);
}

/**
 * Why a refund cannot succeed, from the database: not this customer's order, not eligible, or
 * more than the order's total minus refunds already made. Undefined when it can.
 */
export async function refundRefusal(db: ShopStore, policy: RefundPolicy, customerId: string, orderId: string, amount: number): Promise<string | undefined> {
  const order = await db.orderOf(customerId, orderId);
  if (!order) return NOT_FOUND(orderId).message;
  const check = eligibility(order.status, order.deliveredAt, policy.windowDays);
  if (!check.eligible) return check.why;
  const left = Math.round((order.total - (await db.refundedAmount(order.id))) * 100) / 100;
  if (!(amount <= left)) return `At most ${left} ${policy.currency} of order ${orderId} can still be refunded.`;
  return undefined;
}

function eligibility(status: string, deliveredAt: string | null, windowDays: number): { eligible: boolean; why: string } {
  if (status !== 'delivered' || !deliveredAt) return { eligible: false, why: `The order is ${status}; refunds open once it has been delivered.` };
  const days = Math.floor((Date.now() - Date.parse(deliveredAt)) / 86_400_000);
  if (days > windowDays) return { eligible: false, why: `It was delivered ${days} days ago, outside the ${windowDays}-day refund window.` };
  return { eligible: true, why: `Delivered ${days} days ago, inside the ${windowDays}-day window.` };
}
