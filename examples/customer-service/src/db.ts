// The shop's SQLite database: customers, orders, refund requests, hand-overs, browser sessions
// and refunds waiting for staff approval. Seeded with demo data on first open.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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
  sessionId: string;
  customerId: string;
  tool: string;
  arguments: unknown;
  /** The paused run (agent RunState) as JSON. */
  state: string;
  status: 'pending' | 'approved' | 'rejected';
  note: string | null;
  createdAt: string;
  decidedAt: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), status TEXT NOT NULL,
  placed_at TEXT NOT NULL, delivered_at TEXT, items TEXT NOT NULL, total REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refund_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL REFERENCES orders(id), customer_id TEXT NOT NULL,
  amount REAL NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS handovers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id TEXT NOT NULL, session_id TEXT NOT NULL, summary TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, session_id TEXT NOT NULL, customer_id TEXT NOT NULL, tool TEXT NOT NULL, arguments TEXT NOT NULL,
  state TEXT NOT NULL, status TEXT NOT NULL, note TEXT, created_at TEXT NOT NULL, decided_at TEXT);
`;

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
}

const toApproval = (r: ApprovalRow): PendingApprovalRow => ({
  id: r.id,
  sessionId: r.session_id,
  customerId: r.customer_id,
  tool: r.tool,
  arguments: JSON.parse(r.arguments),
  state: r.state,
  status: r.status,
  note: r.note,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
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
    this.db.exec(SCHEMA);
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

  createWebSession(sessionId: string, customerId: string): void {
    this.db.prepare('INSERT INTO web_sessions (id, customer_id, created_at) VALUES (?, ?, ?)').run(sessionId, customerId, now());
  }

  /** The customer signed in on a browser session, or undefined for an unknown cookie. */
  sessionCustomer(sessionId: string): Customer | undefined {
    return this.db
      .prepare('SELECT c.id, c.name, c.email FROM web_sessions s JOIN customers c ON c.id = s.customer_id WHERE s.id = ?')
      .get(sessionId) as Customer | undefined;
  }

  webSessions(): Array<{ id: string; customerId: string; createdAt: string }> {
    return this.db.prepare('SELECT id, customer_id AS customerId, created_at AS createdAt FROM web_sessions ORDER BY created_at').all() as Array<{
      id: string;
      customerId: string;
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

  addRefundRequest(r: Omit<RefundRequest, 'id' | 'createdAt'>): RefundRequest {
    const createdAt = now();
    const info = this.db
      .prepare('INSERT INTO refund_requests (order_id, customer_id, amount, reason, status, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(r.orderId, r.customerId, r.amount, r.reason, r.status, createdAt);
    return { ...r, id: Number(info.lastInsertRowid), createdAt };
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

  handovers(): Array<{ id: number; customerId: string; sessionId: string; summary: string; createdAt: string }> {
    return this.db
      .prepare('SELECT id, customer_id AS customerId, session_id AS sessionId, summary, created_at AS createdAt FROM handovers ORDER BY id DESC')
      .all() as Array<{ id: number; customerId: string; sessionId: string; summary: string; createdAt: string }>;
  }

  // ------------------------------------------------------------------ approvals

  addApproval(a: { id: string; sessionId: string; customerId: string; tool: string; arguments: unknown; state: string }): void {
    this.db
      .prepare("INSERT INTO approvals (id, session_id, customer_id, tool, arguments, state, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)")
      .run(a.id, a.sessionId, a.customerId, a.tool, JSON.stringify(a.arguments ?? null), a.state, now());
  }

  approval(id: string): PendingApprovalRow | undefined {
    const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  approvals(): PendingApprovalRow[] {
    return (this.db.prepare("SELECT * FROM approvals ORDER BY status = 'pending' DESC, created_at DESC").all() as ApprovalRow[]).map(toApproval);
  }

  pendingApprovalFor(sessionId: string): PendingApprovalRow | undefined {
    const row = this.db.prepare("SELECT * FROM approvals WHERE session_id = ? AND status = 'pending'").get(sessionId) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  /** Marks a pending approval decided; false when it was not pending (decided twice, unknown id). */
  decideApproval(id: string, status: 'approved' | 'rejected', note: string | null): boolean {
    const info = this.db
      .prepare("UPDATE approvals SET status = ?, note = ?, decided_at = ? WHERE id = ? AND status = 'pending'")
      .run(status, note, now(), id);
    return info.changes === 1;
  }

  /** Puts a decision back to pending when resuming the run failed, so staff can try again. */
  reopenApproval(id: string): void {
    this.db.prepare("UPDATE approvals SET status = 'pending', note = NULL, decided_at = NULL WHERE id = ?").run(id);
  }
}
