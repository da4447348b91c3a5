// What the bot keeps besides the conversations: customers, orders, refunds, hand-overs, browser
// and staff sessions, approvals, run checkpoints and the moderation index. One interface, two
// implementations: SQLite in the data directory (the default, one process) and PostgreSQL
// (--database-url, shared by every replica).
import { createHash, randomBytes } from 'node:crypto';
import type { VerdictAuditEntry } from '@lookout/core';
import { LookoutError } from '@lookout/tools/errors';

export interface Customer {
  id: string;
  name: string;
  email: string;
}

export interface OrderItem {
  sku: string;
  name: string;
  quantity: number;
  price: number;
}

export interface Order {
  id: string;
  customerId: string;
  status: 'processing' | 'shipped' | 'delivered' | 'cancelled';
  placedAt: string;
  deliveredAt: string | null;
  items: OrderItem[];
  total: number;
}

export interface RefundRequest {
  id: number;
  orderId: string;
  customerId: string;
  amount: number;
  reason: string;
  status: 'open' | 'approved' | 'rejected';
  createdAt: string;
}

/** A refund that was not opened: it is more than the order has left to refund (checked with the insert). */
export interface RefundExceeds {
  exceeds: true;
  /** What the order still has to refund. */
  left: number;
}

export interface PendingApprovalRow {
  id: string;
  /** The paused run's id. */
  runId: string;
  /** The agent session key: server-side only. */
  sessionId: string;
  /** The conversation's opaque id, for responses. */
  conversationId: string | null;
  customerId: string;
  tool: string;
  arguments: unknown;
  /** The paused run (agent RunState) as JSON. */
  state: string;
  status: 'pending' | 'approved' | 'rejected';
  note: string | null;
  createdAt: string;
  decidedAt: string | null;
  /** The resumed run after a decision: running, done (stored), failed (stored as an error). */
  runStatus: 'running' | 'done' | 'failed' | null;
}

/** A run's latest state around a tool execution, kept until the run is over. */
export interface RunCheckpoint {
  runId: string;
  sessionKey: string;
  customerId: string;
  approvalId: string | null;
  state: string;
}

/** A signed-in browser: its customer and the conversation it continues. */
export interface BrowserSession extends Customer {
  /** Opaque id shown to staff and on the moderation page. */
  conversationId: string;
  /** The agent's session id (transcript key). Server-side only, never in a response. */
  sessionKey: string;
}

export interface Conversation {
  id: string;
  sessionKey: string;
  customerId: string;
  createdAt: string;
}

export interface SessionLimits {
  /** Live browser sessions kept at most; the least recently used are signed out first. */
  maxSessions: number;
  /** Live browser sessions per customer. */
  maxSessionsPerCustomer: number;
  /** A session unused for this long is signed out (ms). */
  idleMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxSessions: 10_000, maxSessionsPerCustomer: 20, idleMs: 30 * 24 * 60 * 60 * 1000 };

export interface StaffAccountRow {
  username: string;
  passwordHash: string;
}

/** One verdict as the moderation page lists it. */
export interface IndexedVerdict {
  /** Where the next page (older verdicts) starts: pass it back as `before`. Opaque. */
  cursor: string;
  time: string;
  conversationId: string;
  customerId: string;
  entry: VerdictAuditEntry;
}

export interface Handover {
  id: number;
  customerId: string;
  conversationId: string | null;
  summary: string;
  createdAt: string;
}

/** A `before` value that no verdict page handed out. */
export class InvalidCursorError extends LookoutError<'example.invalid-cursor'> {
  constructor() {
    super('example.invalid-cursor', 'before must be the "next" value of a previous /api/verdicts page.');
  }
}

/** A checkpoint refused because another process took the run over (its lease here had run out). */
export class RunTakenOverError extends LookoutError<'example.run-taken-over'> {
  constructor(runId: string) {
    super('example.run-taken-over', `Run ${runId} is being continued by another process; this one stops before running a tool.`);
  }
}

/** Session cookies are stored as their SHA-256: the table alone signs nobody in. */
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** An id that names a conversation and grants nothing. */
export const newConversationId = () => `c_${randomBytes(12).toString('base64url')}`;

/** Every query the bot needs, each scoped to what its caller may see. */
export interface ShopStore {
  /**
   * True when several processes share the store: runs are then leased to the process that
   * continues them, and interrupted runs are also picked up while serving, not only at start.
   */
  readonly shared: boolean;
  close(): Promise<void>;

  // customers, conversations, browser sessions
  customers(): Promise<Customer[]>;
  customer(id: string): Promise<Customer | undefined>;
  addCustomer(c: Customer): Promise<void>;
  /** Signs a browser in: a new conversation for the customer, cookie stored hashed. Evicts past the limits. */
  createBrowserSession(token: string, customerId: string, limits?: SessionLimits): Promise<BrowserSession>;
  /** The browser session of a cookie, or undefined for an unknown, signed-out or expired one (an expired one is deleted). */
  browserSession(token: string, idleMs?: number): Promise<BrowserSession | undefined>;
  /** Signs a browser out: the cookie value stops working at once. */
  deleteBrowserSession(token: string): Promise<void>;
  browserSessionCount(): Promise<number>;
  /** Every conversation, oldest first. `sessionKey` is server-side only. */
  conversations(): Promise<Conversation[]>;
  /** The conversation an agent session key belongs to. */
  conversationOfKey(sessionKey: string): Promise<{ id: string; customerId: string } | undefined>;

  // staff
  staffAccount(username: string): Promise<StaffAccountRow | undefined>;
  firstStaffAccount(): Promise<StaffAccountRow | undefined>;
  /** Stores the account unless one of that name exists; resolves with the stored one (of processes starting together, the first wins). */
  addStaffAccount(username: string, passwordHash: string): Promise<StaffAccountRow>;
  createStaffSession(token: string, username: string, limits: { maxSessions: number; idleMs: number }): Promise<void>;
  /** The member of staff a staff cookie belongs to, or undefined (unknown, signed out, expired). */
  staffSession(token: string, idleMs: number): Promise<{ username: string } | undefined>;
  deleteStaffSession(token: string): Promise<void>;

  // moderation
  /** Adds a turn's verdicts to the moderation index, each once (a resumed turn repeats its audit). */
  indexVerdicts(conversationId: string, customerId: string, entries: VerdictAuditEntry[]): Promise<void>;
  /** Newest first, `limit` verdicts older than the `before` cursor. Throws InvalidCursorError for a cursor it never gave. */
  verdictPage(limit: number, before?: string): Promise<IndexedVerdict[]>;
  /** Conversations whose verdicts are still to be indexed (written before the index existed). */
  unindexedConversations(): Promise<Array<{ id: string; sessionKey: string; customerId: string }>>;
  markVerdictsIndexed(conversationId: string): Promise<void>;

  // messages refused before they reached the agent
  addRefusedMessage(sessionKey: string, text: string, note: string): Promise<void>;
  refusedMessages(sessionKey: string): Promise<Array<{ text: string; note: string; createdAt: string }>>;

  // orders, refunds, hand-overs (always per customer)
  addOrder(o: Order): Promise<void>;
  /** One order, only if it belongs to this customer: another customer's order looks like no order at all. */
  orderOf(customerId: string, orderId: string): Promise<Order | undefined>;
  ordersOf(customerId: string): Promise<Order[]>;
  /**
   * Opens a refund, once per idempotency key (a repeated call gets the first one back), and only
   * if the order has that much left to refund, checked in the same transaction as the insert,
   * so two refunds racing on one order cannot together exceed what was paid.
   */
  addRefundRequest(r: Omit<RefundRequest, 'id' | 'createdAt'>, idempotencyKey: string): Promise<RefundRequest | RefundExceeds>;
  refundByKey(idempotencyKey: string): Promise<RefundRequest | undefined>;
  refundRequestsOf(customerId: string): Promise<RefundRequest[]>;
  /** Amount already requested (not rejected) for an order. */
  refundedAmount(orderId: string): Promise<number>;
  addHandover(customerId: string, sessionId: string, summary: string): Promise<number>;
  handovers(): Promise<Handover[]>;

  // approvals: a decision is taken once and is final
  /** Queues a paused call for staff; the same pause queued again changes nothing. */
  addApproval(a: { id: string; runId: string; sessionId: string; customerId: string; tool: string; arguments: unknown; state: string }): Promise<void>;
  approval(id: string): Promise<PendingApprovalRow | undefined>;
  approvals(): Promise<PendingApprovalRow[]>;
  /** The conversation's approval that is waiting for staff, or decided with its run still going. */
  openApprovalFor(sessionId: string): Promise<PendingApprovalRow | undefined>;
  /**
   * Records the decision of a pending approval and gives its run to this process; false when it
   * was not pending (decided already, on any replica, or unknown). Never put back to pending.
   */
  decideApproval(id: string, status: 'approved' | 'rejected', note: string | null): Promise<boolean>;
  /** The resumed run ended: 'done' (its turn is stored) or 'failed' (stored as an error turn). */
  finishApprovalRun(id: string, outcome: 'done' | 'failed'): Promise<void>;
  /** Decided approvals whose run never finished. */
  runningApprovals(): Promise<PendingApprovalRow[]>;

  // run checkpoints, and which process continues a run
  /** Stores a run's latest state (the agent's `checkpoint` option). Throws RunTakenOverError when another process holds the run. */
  saveCheckpoint(c: Omit<RunCheckpoint, 'approvalId'> & { approvalId?: string }): Promise<void>;
  checkpoints(): Promise<RunCheckpoint[]>;
  /** The run is over here: its checkpoint and its lease go (not those of a process that took it over). */
  deleteCheckpoint(runId: string): Promise<void>;
  /** Takes an interrupted run for recovery; false while a live process holds it. */
  takeRun(runId: string): Promise<boolean>;
  /** Keeps the runs this process is continuing its own (called periodically while they go on). */
  renewRuns(runIds: string[]): Promise<void>;
}
