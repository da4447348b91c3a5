// The shop's SQLite database in the data directory (the default when no PostgreSQL is given):
// everything of ShopStore in one file, for one process. Seeded with demo data on first open.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { VerdictAuditEntry } from '@lookout/core';
import { DEMO_CUSTOMERS, demoOrders } from '../seed.js';
import {
  DEFAULT_SESSION_LIMITS,
  hashToken,
  InvalidCursorError,
  newConversationId,
  type BrowserSession,
  type Conversation,
  type Customer,
  type Handover,
  type IndexedVerdict,
  type Order,
  type OrderItem,
  type PendingApprovalRow,
  type RefundExceeds,
  type RefundRequest,
  type RunCheckpoint,
  type SessionLimits,
  type ShopStore,
  type StaffAccountRow,
} from './types.js';

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
  runId: (JSON.parse(r.state) as { runId: string }).runId,
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

const REFUND_COLUMNS = 'id, order_id AS orderId, customer_id AS customerId, amount, reason, status, created_at AS createdAt';
const APPROVALS = 'SELECT a.*, c.id AS conversation_id FROM approvals a LEFT JOIN conversations c ON c.session_key = a.session_id';

/** SQLite on better-sqlite3: synchronous underneath, so every method is one atomic step in this process. */
export class SqliteShopStore implements ShopStore {
  readonly shared = false;
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
    if (n === 0) this.db.transaction(() => this.seed())();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private seed(): void {
    for (const c of DEMO_CUSTOMERS) this.insertCustomer(c);
    for (const o of demoOrders()) this.insertOrder(o);
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

  // ------------------------------------------------------------------ customers and sessions

  async customers(): Promise<Customer[]> {
    return this.db.prepare('SELECT id, name, email FROM customers ORDER BY name').all() as Customer[];
  }

  async customer(id: string): Promise<Customer | undefined> {
    return this.customerNow(id);
  }

  private customerNow(id: string): Customer | undefined {
    return this.db.prepare('SELECT id, name, email FROM customers WHERE id = ?').get(id) as Customer | undefined;
  }

  async addCustomer(c: Customer): Promise<void> {
    this.insertCustomer(c);
  }

  private insertCustomer(c: Customer): void {
    this.db.prepare('INSERT INTO customers (id, name, email) VALUES (?, ?, ?)').run(c.id, c.name, c.email);
  }

  async createBrowserSession(token: string, customerId: string, limits: SessionLimits = DEFAULT_SESSION_LIMITS): Promise<BrowserSession> {
    const conversationId = newConversationId();
    const time = now();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO conversations (id, session_key, customer_id, created_at) VALUES (?, ?, ?, ?)').run(conversationId, conversationId, customerId, time);
      this.db
        .prepare('INSERT INTO browser_sessions (token_hash, conversation_id, customer_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)')
        .run(hashToken(token), conversationId, customerId, time, time);
      this.pruneBrowserSessions(limits, customerId);
    })();
    return { ...this.customerNow(customerId)!, conversationId, sessionKey: conversationId };
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

  async browserSession(token: string, idleMs = DEFAULT_SESSION_LIMITS.idleMs): Promise<BrowserSession | undefined> {
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

  async deleteBrowserSession(token: string): Promise<void> {
    this.db.prepare('DELETE FROM browser_sessions WHERE token_hash = ?').run(hashToken(token));
  }

  async browserSessionCount(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM browser_sessions').get() as { n: number }).n;
  }

  async conversations(): Promise<Conversation[]> {
    return this.db.prepare('SELECT id, session_key AS sessionKey, customer_id AS customerId, created_at AS createdAt FROM conversations ORDER BY created_at').all() as Conversation[];
  }

  async conversationOfKey(sessionKey: string): Promise<{ id: string; customerId: string } | undefined> {
    return this.db.prepare('SELECT id, customer_id AS customerId FROM conversations WHERE session_key = ?').get(sessionKey) as { id: string; customerId: string } | undefined;
  }

  // ------------------------------------------------------------------ staff

  async staffAccount(username: string): Promise<StaffAccountRow | undefined> {
    return this.db.prepare('SELECT username, password_hash AS passwordHash FROM staff_accounts WHERE username = ?').get(username) as StaffAccountRow | undefined;
  }

  async firstStaffAccount(): Promise<StaffAccountRow | undefined> {
    return this.db.prepare('SELECT username, password_hash AS passwordHash FROM staff_accounts ORDER BY created_at LIMIT 1').get() as StaffAccountRow | undefined;
  }

  async addStaffAccount(username: string, passwordHash: string): Promise<StaffAccountRow> {
    this.db.prepare('INSERT OR IGNORE INTO staff_accounts (username, password_hash, created_at) VALUES (?, ?, ?)').run(username, passwordHash, now());
    return (await this.staffAccount(username))!;
  }

  async createStaffSession(token: string, username: string, limits: { maxSessions: number; idleMs: number }): Promise<void> {
    const time = now();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO staff_sessions (token_hash, username, created_at, last_seen_at) VALUES (?, ?, ?, ?)').run(hashToken(token), username, time, time);
      this.db.prepare('DELETE FROM staff_sessions WHERE last_seen_at < ?').run(new Date(Date.now() - limits.idleMs).toISOString());
      this.db
        .prepare('DELETE FROM staff_sessions WHERE token_hash IN (SELECT token_hash FROM staff_sessions ORDER BY last_seen_at DESC, created_at DESC LIMIT -1 OFFSET ?)')
        .run(limits.maxSessions);
    })();
  }

  async staffSession(token: string, idleMs: number): Promise<{ username: string } | undefined> {
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

  async deleteStaffSession(token: string): Promise<void> {
    this.db.prepare('DELETE FROM staff_sessions WHERE token_hash = ?').run(hashToken(token));
  }

  // ------------------------------------------------------------------ moderation index

  async indexVerdicts(conversationId: string, customerId: string, entries: VerdictAuditEntry[]): Promise<void> {
    const insert = this.db.prepare('INSERT OR IGNORE INTO verdicts (entry_key, time, conversation_id, customer_id, entry) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const entry of entries) {
        const json = JSON.stringify(entry);
        insert.run(createHash('sha256').update(conversationId).update('\0').update(json).digest('hex'), entry.time, conversationId, customerId, json);
      }
    })();
  }

  /** Reads the index only; the cursor is the last row's (time, id). */
  async verdictPage(limit: number, before?: string): Promise<IndexedVerdict[]> {
    const after = before === undefined ? undefined : parseCursor(before);
    const rows = (
      after
        ? this.db
            .prepare('SELECT id, time, conversation_id, customer_id, entry FROM verdicts WHERE time < ? OR (time = ? AND id < ?) ORDER BY time DESC, id DESC LIMIT ?')
            .all(after.time, after.time, after.id, limit)
        : this.db.prepare('SELECT id, time, conversation_id, customer_id, entry FROM verdicts ORDER BY time DESC, id DESC LIMIT ?').all(limit)
    ) as Array<{ id: number; time: string; conversation_id: string; customer_id: string; entry: string }>;
    return rows.map((r) => ({
      cursor: Buffer.from(JSON.stringify([r.time, r.id])).toString('base64url'),
      time: r.time,
      conversationId: r.conversation_id,
      customerId: r.customer_id,
      entry: JSON.parse(r.entry) as VerdictAuditEntry,
    }));
  }

  async unindexedConversations(): Promise<Array<{ id: string; sessionKey: string; customerId: string }>> {
    return this.db.prepare('SELECT id, session_key AS sessionKey, customer_id AS customerId FROM conversations WHERE verdicts_indexed = 0').all() as Array<{
      id: string;
      sessionKey: string;
      customerId: string;
    }>;
  }

  async markVerdictsIndexed(conversationId: string): Promise<void> {
    this.db.prepare('UPDATE conversations SET verdicts_indexed = 1 WHERE id = ?').run(conversationId);
  }

  // ------------------------------------------------------------------ messages refused before the agent

  async addRefusedMessage(sessionKey: string, text: string, note: string): Promise<void> {
    this.db.prepare('INSERT INTO refused_messages (session_key, text, note, created_at) VALUES (?, ?, ?, ?)').run(sessionKey, text, note, now());
  }

  async refusedMessages(sessionKey: string): Promise<Array<{ text: string; note: string; createdAt: string }>> {
    return this.db.prepare('SELECT text, note, created_at AS createdAt FROM refused_messages WHERE session_key = ? ORDER BY id').all(sessionKey) as Array<{
      text: string;
      note: string;
      createdAt: string;
    }>;
  }

  // ------------------------------------------------------------------ orders (always per customer)

  async addOrder(o: Order): Promise<void> {
    this.insertOrder(o);
  }

  private insertOrder(o: Order): void {
    this.db
      .prepare('INSERT INTO orders (id, customer_id, status, placed_at, delivered_at, items, total) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(o.id, o.customerId, o.status, o.placedAt, o.deliveredAt, JSON.stringify(o.items), o.total);
  }

  async orderOf(customerId: string, orderId: string): Promise<Order | undefined> {
    const row = this.db.prepare('SELECT * FROM orders WHERE id = ? AND customer_id = ?').get(orderId, customerId) as OrderRow | undefined;
    return row && toOrder(row);
  }

  async ordersOf(customerId: string): Promise<Order[]> {
    return (this.db.prepare('SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC').all(customerId) as OrderRow[]).map(toOrder);
  }

  // ------------------------------------------------------------------ refunds and hand-overs

  async addRefundRequest(r: Omit<RefundRequest, 'id' | 'createdAt'>, idempotencyKey: string): Promise<RefundRequest | RefundExceeds> {
    return this.db.transaction((): RefundRequest | RefundExceeds => {
      const existing = this.refundByKeyNow(idempotencyKey);
      if (existing) return existing;
      const order = this.db.prepare('SELECT total FROM orders WHERE id = ?').get(r.orderId) as { total: number } | undefined;
      const left = Math.round(((order?.total ?? 0) - this.refundedNow(r.orderId)) * 100) / 100;
      if (r.amount > left) return { exceeds: true, left };
      const createdAt = now();
      const info = this.db
        .prepare('INSERT INTO refund_requests (order_id, customer_id, amount, reason, status, created_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(r.orderId, r.customerId, r.amount, r.reason, r.status, createdAt, idempotencyKey);
      return { ...r, id: Number(info.lastInsertRowid), createdAt };
    })();
  }

  async refundByKey(idempotencyKey: string): Promise<RefundRequest | undefined> {
    return this.refundByKeyNow(idempotencyKey);
  }

  private refundByKeyNow(idempotencyKey: string): RefundRequest | undefined {
    return this.db.prepare(`SELECT ${REFUND_COLUMNS} FROM refund_requests WHERE idempotency_key = ?`).get(idempotencyKey) as RefundRequest | undefined;
  }

  async refundRequestsOf(customerId: string): Promise<RefundRequest[]> {
    return this.db.prepare(`SELECT ${REFUND_COLUMNS} FROM refund_requests WHERE customer_id = ? ORDER BY id`).all(customerId) as RefundRequest[];
  }

  async refundedAmount(orderId: string): Promise<number> {
    return this.refundedNow(orderId);
  }

  private refundedNow(orderId: string): number {
    const { total } = this.db
      .prepare("SELECT coalesce(sum(amount), 0) AS total FROM refund_requests WHERE order_id = ? AND status != 'rejected'")
      .get(orderId) as { total: number };
    return total;
  }

  async addHandover(customerId: string, sessionId: string, summary: string): Promise<number> {
    const info = this.db.prepare('INSERT INTO handovers (customer_id, session_id, summary, created_at) VALUES (?, ?, ?, ?)').run(customerId, sessionId, summary, now());
    return Number(info.lastInsertRowid);
  }

  async handovers(): Promise<Handover[]> {
    return this.db
      .prepare(
        'SELECT h.id, h.customer_id AS customerId, c.id AS conversationId, h.summary, h.created_at AS createdAt FROM handovers h LEFT JOIN conversations c ON c.session_key = h.session_id ORDER BY h.id DESC',
      )
      .all() as Handover[];
  }

  // ------------------------------------------------------------------ approvals

  async addApproval(a: { id: string; runId: string; sessionId: string; customerId: string; tool: string; arguments: unknown; state: string }): Promise<void> {
    this.db
      .prepare("INSERT OR IGNORE INTO approvals (id, session_id, customer_id, tool, arguments, state, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)")
      .run(a.id, a.sessionId, a.customerId, a.tool, JSON.stringify(a.arguments ?? null), a.state, now());
  }

  async approval(id: string): Promise<PendingApprovalRow | undefined> {
    const row = this.db.prepare(`${APPROVALS} WHERE a.id = ?`).get(id) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  async approvals(): Promise<PendingApprovalRow[]> {
    return (this.db.prepare(`${APPROVALS} ORDER BY a.status = 'pending' DESC, a.created_at DESC`).all() as ApprovalRow[]).map(toApproval);
  }

  async openApprovalFor(sessionId: string): Promise<PendingApprovalRow | undefined> {
    const row = this.db
      .prepare("SELECT * FROM approvals WHERE session_id = ? AND (status = 'pending' OR run_status = 'running') ORDER BY created_at DESC LIMIT 1")
      .get(sessionId) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  async decideApproval(id: string, status: 'approved' | 'rejected', note: string | null): Promise<boolean> {
    const info = this.db
      .prepare("UPDATE approvals SET status = ?, note = ?, decided_at = ?, run_status = 'running' WHERE id = ? AND status = 'pending'")
      .run(status, note, now(), id);
    return info.changes === 1;
  }

  async finishApprovalRun(id: string, outcome: 'done' | 'failed'): Promise<void> {
    this.db.prepare('UPDATE approvals SET run_status = ? WHERE id = ?').run(outcome, id);
  }

  async runningApprovals(): Promise<PendingApprovalRow[]> {
    return (this.db.prepare("SELECT * FROM approvals WHERE run_status = 'running' ORDER BY decided_at").all() as ApprovalRow[]).map(toApproval);
  }

  // ------------------------------------------------------------------ run checkpoints

  async saveCheckpoint(c: Omit<RunCheckpoint, 'approvalId'> & { approvalId?: string }): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO run_checkpoints (run_id, session_key, customer_id, approval_id, state, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      )
      .run(c.runId, c.sessionKey, c.customerId, c.approvalId ?? null, c.state, now());
  }

  async checkpoints(): Promise<RunCheckpoint[]> {
    return this.db
      .prepare('SELECT run_id AS runId, session_key AS sessionKey, customer_id AS customerId, approval_id AS approvalId, state FROM run_checkpoints ORDER BY updated_at')
      .all() as RunCheckpoint[];
  }

  async deleteCheckpoint(runId: string): Promise<void> {
    this.db.prepare('DELETE FROM run_checkpoints WHERE run_id = ?').run(runId);
  }

  /** One process owns the file: nothing else can be continuing a run. */
  async takeRun(): Promise<boolean> {
    return true;
  }

  async renewRuns(): Promise<void> {}
}

function parseCursor(text: string): { time: string; id: number } {
  try {
    const [time, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'string' && typeof id === 'number' && Number.isInteger(id)) return { time, id };
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
}
