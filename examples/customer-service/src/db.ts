// The shop's SQLite database: customers, orders, refund requests, hand-overs, conversations,
// browser and staff sessions, refunds waiting for staff approval and the moderation index of
// guard verdicts. Seeded with demo data on first open.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { VerdictAuditEntry } from '@lookout/core';
import { seedShop } from './seed.js';

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

export interface PendingApprovalRow {
  id: string;
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), status TEXT NOT NULL,
  placed_at TEXT NOT NULL, delivered_at TEXT, items TEXT NOT NULL, total REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refund_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL REFERENCES orders(id), customer_id TEXT NOT NULL,
  amount REAL NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
  idempotency_key TEXT);
CREATE TABLE IF NOT EXISTS handovers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id TEXT NOT NULL, session_id TEXT NOT NULL, summary TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, session_key TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL REFERENCES customers(id), created_at TEXT NOT NULL,
  verdicts_indexed INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS browser_sessions (
  token_hash TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id), customer_id TEXT NOT NULL,
  created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS browser_sessions_seen ON browser_sessions (last_seen_at);
CREATE INDEX IF NOT EXISTS browser_sessions_customer ON browser_sessions (customer_id, last_seen_at);
CREATE TABLE IF NOT EXISTS staff_accounts (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff_sessions (
  token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS staff_sessions_seen ON staff_sessions (last_seen_at);
CREATE TABLE IF NOT EXISTS verdicts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, entry_key TEXT NOT NULL UNIQUE, time TEXT NOT NULL,
  conversation_id TEXT NOT NULL, customer_id TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS verdicts_time ON verdicts (time DESC, id DESC);
CREATE TABLE IF NOT EXISTS refused_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, session_key TEXT NOT NULL, text TEXT NOT NULL, note TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refused_messages_session ON refused_messages (session_key, id);
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, session_id TEXT NOT NULL, customer_id TEXT NOT NULL, tool TEXT NOT NULL, arguments TEXT NOT NULL,
  state TEXT NOT NULL, status TEXT NOT NULL, note TEXT, created_at TEXT NOT NULL, decided_at TEXT,
  run_status TEXT);
CREATE TABLE IF NOT EXISTS run_checkpoints (
  run_id TEXT PRIMARY KEY, session_key TEXT NOT NULL, customer_id TEXT NOT NULL, approval_id TEXT,
  state TEXT NOT NULL, updated_at TEXT NOT NULL);
`;

/** Columns added after the first release: added to older databases at start-up. */
const ADDED_COLUMNS: Array<[table: string, column: string, type: string]> = [
  ['refund_requests', 'idempotency_key', 'TEXT'],
  ['approvals', 'run_status', 'TEXT'],
];

const now = () => new Date().toISOString();

/** Session cookies are stored as their SHA-256: the table alone signs nobody in. */
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** An id that names a conversation and grants nothing. */
export const newConversationId = () => `c_${randomBytes(12).toString('base64url')}`;

/** A signed-in browser: its customer and the conversation it continues. */
export interface BrowserSession extends Customer {
  /** Opaque id shown to staff and on the moderation page. */
  conversationId: string;
  /** The agent's session id (transcript key). Server-side only, never in a response. */
  sessionKey: string;
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

/** One verdict as the moderation index keeps it. */
export interface IndexedVerdict {
  id: number;
  time: string;
  conversationId: string;
  customerId: string;
  entry: VerdictAuditEntry;
}

interface OrderRow {
  id: string;
  customer_id: string;
  status: Order['status'];
  placed_at: string;
  delivered_at: string | null;
  items: string;
  total: number;
}

const toOrder = (r: OrderRow): Order => ({
  id: r.id,
  customerId: r.customer_id,
  status: r.status,
  placedAt: r.placed_at,
  deliveredAt: r.delivered_at,
  items: JSON.parse(r.items) as OrderItem[],
  total: r.total,
});

interface ApprovalRow {
  id: string;
  session_id: string;
  customer_id: string;
  tool: string;
  arguments: string;
  state: string;
  status: PendingApprovalRow['status'];
  note: string | null;
  created_at: string;
  decided_at: string | null;
  run_status: PendingApprovalRow['runStatus'];
  conversation_id?: string | null;
}

const toApproval = (r: ApprovalRow): PendingApprovalRow => ({
  id: r.id,
  sessionId: r.session_id,
  conversationId: r.conversation_id ?? null,
  customerId: r.customer_id,
  tool: r.tool,
  arguments: JSON.parse(r.arguments),
  state: r.state,
  status: r.status,
  note: r.note,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  runStatus: r.run_status ?? null,
});

/** Every query the example needs, each scoped to what its caller may see. */
export class ShopDb {
  readonly db: Database.Database;

  /** `file` is a path, or ':memory:' for tests. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.migrateLegacySessions();
    this.db.exec(SCHEMA);
    this.addColumns();
    // One refund per tool call: a repeated call (retry, recovery) finds the first one.
    this.db.exec('CREATE UNIQUE INDEX IF NOT EXISTS refund_requests_key ON refund_requests (idempotency_key)');
    const { n } = this.db.prepare('SELECT count(*) AS n FROM customers').get() as { n: number };
    if (n === 0) this.db.transaction(() => seedShop(this))();
  }

  close(): void {
    this.db.close();
  }

  // ------------------------------------------------------------------ customers and sessions

  customers(): Customer[] {
    return this.db.prepare('SELECT id, name, email FROM customers ORDER BY name').all() as Customer[];
  }

  customer(id: string): Customer | undefined {
    return this.db.prepare('SELECT id, name, email FROM customers WHERE id = ?').get(id) as Customer | undefined;
  }

  addCustomer(c: Customer): void {
    this.db.prepare('INSERT INTO customers (id, name, email) VALUES (?, ?, ?)').run(c.id, c.name, c.email);
  }

  private addColumns(): void {
    for (const [table, column, type] of ADDED_COLUMNS) {
      const columns = this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
      if (!columns.some((c) => c.name === column)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
  }

  /**
   * Databases written before conversations had their own id keyed transcripts by the cookie
   * value. Those rows become conversations with a fresh opaque id (the old key stays server-side
   * to find the transcript) and every old cookie is signed out.
   */
  private migrateLegacySessions(): void {
    const legacy = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'web_sessions'").get();
    if (!legacy) return;
    this.db.exec(SCHEMA);
    this.db.transaction(() => {
      const rows = this.db.prepare('SELECT id, customer_id, created_at FROM web_sessions').all() as Array<{ id: string; customer_id: string; created_at: string }>;
      const insert = this.db.prepare('INSERT OR IGNORE INTO conversations (id, session_key, customer_id, created_at, verdicts_indexed) VALUES (?, ?, ?, ?, 0)');
      for (const r of rows) insert.run(newConversationId(), r.id, r.customer_id, r.created_at);
      this.db.exec('DROP TABLE web_sessions');
    })();
  }

  /** Signs a browser in: a new conversation for the customer, cookie stored hashed. Evicts past the limits. */
  createBrowserSession(token: string, customerId: string, limits: SessionLimits = DEFAULT_SESSION_LIMITS): BrowserSession {
    const conversationId = newConversationId();
    const time = now();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO conversations (id, session_key, customer_id, created_at) VALUES (?, ?, ?, ?)').run(conversationId, conversationId, customerId, time);
      this.db
        .prepare('INSERT INTO browser_sessions (token_hash, conversation_id, customer_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)')
        .run(hashToken(token), conversationId, customerId, time, time);
      this.pruneBrowserSessions(limits, customerId);
    })();
    return { ...this.customer(customerId)!, conversationId, sessionKey: conversationId };
  }

  /** Expired sessions, then the least recently used beyond the per-customer and total limits. */
  private pruneBrowserSessions(limits: SessionLimits, customerId: string): void {
    this.db.prepare('DELETE FROM browser_sessions WHERE last_seen_at < ?').run(new Date(Date.now() - limits.idleMs).toISOString());
    this.db
      .prepare(
        'DELETE FROM browser_sessions WHERE token_hash IN (SELECT token_hash FROM browser_sessions WHERE customer_id = ? ORDER BY last_seen_at DESC, created_at DESC LIMIT -1 OFFSET ?)',
      )
      .run(customerId, limits.maxSessionsPerCustomer);
    this.db
      .prepare('DELETE FROM browser_sessions WHERE token_hash IN (SELECT token_hash FROM browser_sessions ORDER BY last_seen_at DESC, created_at DESC LIMIT -1 OFFSET ?)')
      .run(limits.maxSessions);
  }

  /** The browser session of a cookie, or undefined for an unknown, signed-out or expired one (an expired one is deleted). */
  browserSession(token: string, idleMs = DEFAULT_SESSION_LIMITS.idleMs): BrowserSession | undefined {
    const hash = hashToken(token);
    const row = this.db
      .prepare(
        `SELECT c.id, c.name, c.email, s.last_seen_at AS lastSeen, v.id AS conversationId, v.session_key AS sessionKey
         FROM browser_sessions s JOIN customers c ON c.id = s.customer_id JOIN conversations v ON v.id = s.conversation_id WHERE s.token_hash = ?`,
      )
      .get(hash) as (BrowserSession & { lastSeen: string }) | undefined;
    if (!row) return undefined;
    const age = Date.now() - Date.parse(row.lastSeen);
    if (!(age <= idleMs)) {
      this.db.prepare('DELETE FROM browser_sessions WHERE token_hash = ?').run(hash);
      return undefined;
    }
    // Written at most once a minute per session.
    if (age > 60_000) this.db.prepare('UPDATE browser_sessions SET last_seen_at = ? WHERE token_hash = ?').run(now(), hash);
    const { lastSeen: _seen, ...session } = row;
    return session;
  }

  /** Signs a browser out: the cookie value stops working at once. */
  deleteBrowserSession(token: string): void {
    this.db.prepare('DELETE FROM browser_sessions WHERE token_hash = ?').run(hashToken(token));
  }

  browserSessionCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM browser_sessions').get() as { n: number }).n;
  }

  /** Every conversation, oldest first. `sessionKey` is server-side only. */
  conversations(): Array<{ id: string; sessionKey: string; customerId: string; createdAt: string }> {
    return this.db.prepare('SELECT id, session_key AS sessionKey, customer_id AS customerId, created_at AS createdAt FROM conversations ORDER BY created_at').all() as Array<{
      id: string;
      sessionKey: string;
      customerId: string;
      createdAt: string;
    }>;
  }

  /** The conversation an agent session key belongs to. */
  conversationOfKey(sessionKey: string): { id: string; customerId: string } | undefined {
    return this.db.prepare('SELECT id, customer_id AS customerId FROM conversations WHERE session_key = ?').get(sessionKey) as { id: string; customerId: string } | undefined;
  }

  /** Conversations from before the verdict index, whose verdicts are still to be indexed. */
  unindexedConversations(): Array<{ id: string; sessionKey: string; customerId: string }> {
    return this.db.prepare('SELECT id, session_key AS sessionKey, customer_id AS customerId FROM conversations WHERE verdicts_indexed = 0').all() as Array<{
      id: string;
      sessionKey: string;
      customerId: string;
    }>;
  }

  markVerdictsIndexed(conversationId: string): void {
    this.db.prepare('UPDATE conversations SET verdicts_indexed = 1 WHERE id = ?').run(conversationId);
  }

  // ------------------------------------------------------------------ staff

  staffAccount(username: string): { username: string; passwordHash: string } | undefined {
    return this.db.prepare('SELECT username, password_hash AS passwordHash FROM staff_accounts WHERE username = ?').get(username) as
      | { username: string; passwordHash: string }
      | undefined;
  }

  firstStaffAccount(): { username: string; passwordHash: string } | undefined {
    return this.db.prepare('SELECT username, password_hash AS passwordHash FROM staff_accounts ORDER BY created_at LIMIT 1').get() as
      | { username: string; passwordHash: string }
      | undefined;
  }

  setStaffAccount(username: string, passwordHash: string): void {
    this.db
      .prepare('INSERT INTO staff_accounts (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash')
      .run(username, passwordHash, now());
  }

  createStaffSession(token: string, username: string, limits: { maxSessions: number; idleMs: number }): void {
    const time = now();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO staff_sessions (token_hash, username, created_at, last_seen_at) VALUES (?, ?, ?, ?)').run(hashToken(token), username, time, time);
      this.db.prepare('DELETE FROM staff_sessions WHERE last_seen_at < ?').run(new Date(Date.now() - limits.idleMs).toISOString());
      this.db
        .prepare('DELETE FROM staff_sessions WHERE token_hash IN (SELECT token_hash FROM staff_sessions ORDER BY last_seen_at DESC, created_at DESC LIMIT -1 OFFSET ?)')
        .run(limits.maxSessions);
    })();
  }

  /** The member of staff a staff cookie belongs to, or undefined (unknown, signed out, expired). */
  staffSession(token: string, idleMs: number): { username: string } | undefined {
    const hash = hashToken(token);
    const row = this.db.prepare('SELECT username, last_seen_at AS lastSeen FROM staff_sessions WHERE token_hash = ?').get(hash) as { username: string; lastSeen: string } | undefined;
    if (!row) return undefined;
    const age = Date.now() - Date.parse(row.lastSeen);
    if (!(age <= idleMs)) {
      this.db.prepare('DELETE FROM staff_sessions WHERE token_hash = ?').run(hash);
      return undefined;
    }
    if (age > 60_000) this.db.prepare('UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ?').run(now(), hash);
    return { username: row.username };
  }

  deleteStaffSession(token: string): void {
    this.db.prepare('DELETE FROM staff_sessions WHERE token_hash = ?').run(hashToken(token));
  }

  // ------------------------------------------------------------------ moderation index

  /** Indexes a turn's verdicts; an entry already indexed (a resumed turn repeats its audit) is skipped. */
  indexVerdicts(conversationId: string, customerId: string, entries: VerdictAuditEntry[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO verdicts (entry_key, time, conversation_id, customer_id, entry) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const entry of entries) {
        const json = JSON.stringify(entry);
        insert.run(createHash('sha256').update(conversationId).update('\0').update(json).digest('hex'), entry.time, conversationId, customerId, json);
      }
    })();
  }

  /** Newest first, `limit` rows strictly older than the cursor (time, id). Reads the index only. */
  verdictPage(limit: number, before?: { time: string; id: number }): IndexedVerdict[] {
    const rows = (
      before
        ? this.db
            .prepare('SELECT id, time, conversation_id, customer_id, entry FROM verdicts WHERE time < ? OR (time = ? AND id < ?) ORDER BY time DESC, id DESC LIMIT ?')
            .all(before.time, before.time, before.id, limit)
        : this.db.prepare('SELECT id, time, conversation_id, customer_id, entry FROM verdicts ORDER BY time DESC, id DESC LIMIT ?').all(limit)
    ) as Array<{ id: number; time: string; conversation_id: string; customer_id: string; entry: string }>;
    return rows.map((r) => ({ id: r.id, time: r.time, conversationId: r.conversation_id, customerId: r.customer_id, entry: JSON.parse(r.entry) as VerdictAuditEntry }));
  }

  // ------------------------------------------------------------------ messages refused before the agent

  /** A customer message the server refused before it reached the agent (e.g. an unreadable photo), for the transcript. */
  addRefusedMessage(sessionKey: string, text: string, note: string): void {
    this.db.prepare('INSERT INTO refused_messages (session_key, text, note, created_at) VALUES (?, ?, ?, ?)').run(sessionKey, text, note, now());
  }

  refusedMessages(sessionKey: string): Array<{ text: string; note: string; createdAt: string }> {
    return this.db.prepare('SELECT text, note, created_at AS createdAt FROM refused_messages WHERE session_key = ? ORDER BY id').all(sessionKey) as Array<{
      text: string;
      note: string;
      createdAt: string;
    }>;
  }

  // ------------------------------------------------------------------ orders (always per customer)

  addOrder(o: Order): void {
    this.db
      .prepare('INSERT INTO orders (id, customer_id, status, placed_at, delivered_at, items, total) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(o.id, o.customerId, o.status, o.placedAt, o.deliveredAt, JSON.stringify(o.items), o.total);
  }

  /** One order, only if it belongs to this customer: another customer's order looks like no order at all. */
  orderOf(customerId: string, orderId: string): Order | undefined {
    const row = this.db.prepare('SELECT * FROM orders WHERE id = ? AND customer_id = ?').get(orderId, customerId) as OrderRow | undefined;
    return row && toOrder(row);
  }

  ordersOf(customerId: string): Order[] {
    return (this.db.prepare('SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC').all(customerId) as OrderRow[]).map(toOrder);
  }

  // ------------------------------------------------------------------ refunds and hand-overs

  /**
   * Records a refund request. With an idempotency key (the tool call's), a second request with
   * the same key returns the first one instead of paying again.
   */
  addRefundRequest(r: Omit<RefundRequest, 'id' | 'createdAt'>, idempotencyKey?: string): RefundRequest {
    return this.db.transaction(() => {
      if (idempotencyKey) {
        const existing = this.refundByKey(idempotencyKey);
        if (existing) return existing;
      }
      const createdAt = now();
      const info = this.db
        .prepare('INSERT INTO refund_requests (order_id, customer_id, amount, reason, status, created_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(r.orderId, r.customerId, r.amount, r.reason, r.status, createdAt, idempotencyKey ?? null);
      return { ...r, id: Number(info.lastInsertRowid), createdAt };
    })();
  }

  refundByKey(idempotencyKey: string): RefundRequest | undefined {
    return this.db
      .prepare('SELECT id, order_id AS orderId, customer_id AS customerId, amount, reason, status, created_at AS createdAt FROM refund_requests WHERE idempotency_key = ?')
      .get(idempotencyKey) as RefundRequest | undefined;
  }

  refundRequestsOf(customerId: string): RefundRequest[] {
    return this.db
      .prepare(
        'SELECT id, order_id AS orderId, customer_id AS customerId, amount, reason, status, created_at AS createdAt FROM refund_requests WHERE customer_id = ? ORDER BY id',
      )
      .all(customerId) as RefundRequest[];
  }

  /** Amount already requested (not rejected) for an order, so refunds cannot exceed what was paid. */
  refundedAmount(orderId: string): number {
    const { total } = this.db
      .prepare("SELECT coalesce(sum(amount), 0) AS total FROM refund_requests WHERE order_id = ? AND status != 'rejected'")
      .get(orderId) as { total: number };
    return total;
  }

  addHandover(customerId: string, sessionId: string, summary: string): number {
    const info = this.db.prepare('INSERT INTO handovers (customer_id, session_id, summary, created_at) VALUES (?, ?, ?, ?)').run(customerId, sessionId, summary, now());
    return Number(info.lastInsertRowid);
  }

  /** Hand-overs with the conversation's opaque id (the stored session key stays server-side). */
  handovers(): Array<{ id: number; customerId: string; conversationId: string | null; summary: string; createdAt: string }> {
    return this.db
      .prepare(
        'SELECT h.id, h.customer_id AS customerId, c.id AS conversationId, h.summary, h.created_at AS createdAt FROM handovers h LEFT JOIN conversations c ON c.session_key = h.session_id ORDER BY h.id DESC',
      )
      .all() as Array<{ id: number; customerId: string; conversationId: string | null; summary: string; createdAt: string }>;
  }

  // ------------------------------------------------------------------ approvals

  addApproval(a: { id: string; sessionId: string; customerId: string; tool: string; arguments: unknown; state: string }): void {
    this.db
      .prepare("INSERT INTO approvals (id, session_id, customer_id, tool, arguments, state, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)")
      .run(a.id, a.sessionId, a.customerId, a.tool, JSON.stringify(a.arguments ?? null), a.state, now());
  }

  approval(id: string): PendingApprovalRow | undefined {
    const row = this.db.prepare('SELECT a.*, c.id AS conversation_id FROM approvals a LEFT JOIN conversations c ON c.session_key = a.session_id WHERE a.id = ?').get(id) as
      | ApprovalRow
      | undefined;
    return row && toApproval(row);
  }

  approvals(): PendingApprovalRow[] {
    return (
      this.db
        .prepare("SELECT a.*, c.id AS conversation_id FROM approvals a LEFT JOIN conversations c ON c.session_key = a.session_id ORDER BY a.status = 'pending' DESC, a.created_at DESC")
        .all() as ApprovalRow[]
    ).map(toApproval);
  }

  pendingApprovalFor(sessionId: string): PendingApprovalRow | undefined {
    const row = this.db.prepare("SELECT * FROM approvals WHERE session_id = ? AND status = 'pending'").get(sessionId) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  /**
   * Marks a pending approval decided and its run as running; false when it was not pending
   * (decided twice, unknown id). A decision is final: it is never put back to pending.
   */
  decideApproval(id: string, status: 'approved' | 'rejected', note: string | null): boolean {
    const info = this.db
      .prepare("UPDATE approvals SET status = ?, note = ?, decided_at = ?, run_status = 'running' WHERE id = ? AND status = 'pending'")
      .run(status, note, now(), id);
    return info.changes === 1;
  }

  /** The resumed run ended: 'done' (its turn is stored) or 'failed' (stored as an error turn). */
  finishApprovalRun(id: string, outcome: 'done' | 'failed'): void {
    this.db.prepare('UPDATE approvals SET run_status = ? WHERE id = ?').run(outcome, id);
  }

  /** Decided approvals whose run never finished (the process stopped while it ran). */
  runningApprovals(): PendingApprovalRow[] {
    return (this.db.prepare("SELECT * FROM approvals WHERE run_status = 'running' ORDER BY decided_at").all() as ApprovalRow[]).map(toApproval);
  }

  // ------------------------------------------------------------------ run checkpoints

  /** The latest state of a run around a tool execution (see the agent's `checkpoint` option). */
  saveCheckpoint(c: { runId: string; sessionKey: string; customerId: string; approvalId?: string; state: string }): void {
    this.db
      .prepare(
        'INSERT INTO run_checkpoints (run_id, session_key, customer_id, approval_id, state, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      )
      .run(c.runId, c.sessionKey, c.customerId, c.approvalId ?? null, c.state, now());
  }

  checkpoints(): Array<{ runId: string; sessionKey: string; customerId: string; approvalId: string | null; state: string }> {
    return this.db
      .prepare('SELECT run_id AS runId, session_key AS sessionKey, customer_id AS customerId, approval_id AS approvalId, state FROM run_checkpoints ORDER BY updated_at')
      .all() as Array<{ runId: string; sessionKey: string; customerId: string; approvalId: string | null; state: string }>;
  }

  checkpointOfApproval(approvalId: string): string | undefined {
    const row = this.db.prepare('SELECT state FROM run_checkpoints WHERE approval_id = ?').get(approvalId) as { state: string } | undefined;
    return row?.state;
  }

  deleteCheckpoint(runId: string): void {
    this.db.prepare('DELETE FROM run_checkpoints WHERE run_id = ?').run(runId);
  }
}
