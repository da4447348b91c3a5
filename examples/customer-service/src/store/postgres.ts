// The shop in PostgreSQL (--database-url), shared by every replica of the bot: the same queries
// as the SQLite store, plus leases that say which replica continues a run. The moderation page
// reads Lookout's audit table (lookout_audit), which the session store fills with each turn.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { VerdictAuditEntry } from '@lookout/core';
import {
  applyMigrations,
  inTransaction,
  migrate,
  PostgresStoreBase,
  sqlState,
  type PgPoolClient,
  type PostgresConnection,
  type PostgresStoreOptions,
} from '@lookout/core/postgres';
import { DEMO_CUSTOMERS, demoOrders } from '../seed.js';
import { SHOP_SCHEMA } from './postgres-schema.js';
import {
  DEFAULT_SESSION_LIMITS,
  hashToken,
  InvalidCursorError,
  newConversationId,
  RunTakenOverError,
  type BrowserSession,
  type Conversation,
  type Customer,
  type Handover,
  type IndexedVerdict,
  type Order,
  type PendingApprovalRow,
  type RefundExceeds,
  type RefundRequest,
  type RunCheckpoint,
  type SessionLimits,
  type ShopStore,
  type StaffAccountRow,
} from './types.js';

export interface PostgresShopStoreOptions extends PostgresStoreOptions {
  /**
   * How long a run stays this process's without a renewal (ms). A process that stops renews
   * nothing, and after this long another replica takes its runs over. Default 30 s.
   */
  leaseMs?: number;
}

const DEADLOCK = '40P01';
const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Takes a run's lease for this process: a run nobody holds, one this process holds already, or
 * one whose holder let the lease run out. $1 run id, $2 owner, $3 lease in ms.
 */
const TAKE_LEASE = `
  INSERT INTO shop_run_leases (run_id, owner, lease_until) VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000))
  ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
  WHERE shop_run_leases.owner = EXCLUDED.owner OR shop_run_leases.lease_until < now()
  RETURNING run_id`;

interface OrderRow {
  id: string;
  customer_id: string;
  status: Order['status'];
  placed_at: Date;
  delivered_at: Date | null;
  items: Order['items'];
  total: number;
}

const ORDER_COLUMNS = 'id, customer_id, status, placed_at, delivered_at, items, total::float8 AS total';
const toOrder = (r: OrderRow): Order => ({
  id: r.id,
  customerId: r.customer_id,
  status: r.status,
  placedAt: iso(r.placed_at),
  deliveredAt: isoOrNull(r.delivered_at),
  items: r.items,
  total: r.total,
});

interface RefundRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount: number;
  reason: string;
  status: RefundRequest['status'];
  created_at: Date;
}

const REFUND_COLUMNS = 'id, order_id, customer_id, amount::float8 AS amount, reason, status, created_at';
const toRefund = (r: RefundRow): RefundRequest => ({
  id: Number(r.id),
  orderId: r.order_id,
  customerId: r.customer_id,
  amount: r.amount,
  reason: r.reason,
  status: r.status,
  createdAt: iso(r.created_at),
});

interface ApprovalRow {
  id: string;
  run_id: string;
  session_id: string;
  conversation_id: string | null;
  customer_id: string;
  tool: string;
  arguments: unknown;
  state: string;
  status: PendingApprovalRow['status'];
  note: string | null;
  created_at: Date;
  decided_at: Date | null;
  run_status: PendingApprovalRow['runStatus'];
}

const APPROVALS = `SELECT a.id, a.run_id, a.session_id, c.id AS conversation_id, a.customer_id, a.tool, a.arguments, a.state::text AS state,
  a.status, a.note, a.created_at, a.decided_at, a.run_status FROM shop_approvals a LEFT JOIN shop_conversations c ON c.session_key = a.session_id`;
const toApproval = (r: ApprovalRow): PendingApprovalRow => ({
  id: r.id,
  runId: r.run_id,
  sessionId: r.session_id,
  conversationId: r.conversation_id,
  customerId: r.customer_id,
  tool: r.tool,
  arguments: r.arguments,
  state: r.state,
  status: r.status,
  note: r.note,
  createdAt: iso(r.created_at),
  decidedAt: isoOrNull(r.decided_at),
  runStatus: r.run_status,
});

interface VerdictRow {
  time: Date;
  session_id: string;
  seq: number;
  position: number;
  run_id: string;
  stage: VerdictAuditEntry['stage'];
  guard: string;
  safe: boolean;
  categories: string[] | null;
  score: number | null;
  latency_ms: number;
  action: VerdictAuditEntry['action'];
  failure: VerdictAuditEntry['failure'] | null;
  reason: string | null;
  tool_call_id: string | null;
  conversation_id: string;
  customer_id: string;
}

const VERDICTS = `SELECT a.time, a.session_id, a.seq, a.position, a.run_id, a.stage, a.guard, a.safe, a.categories, a.score, a.latency_ms,
  a.action, a.failure, a.reason, a.tool_call_id, c.id AS conversation_id, c.customer_id
  FROM lookout_audit a JOIN shop_conversations c ON c.session_key = a.session_id WHERE a.kind = 'verdict'`;
const VERDICT_ORDER = 'ORDER BY a.time DESC, a.session_id DESC, a.seq DESC, a.position DESC';

function toVerdict(r: VerdictRow): IndexedVerdict {
  const time = iso(r.time);
  const entry: VerdictAuditEntry = {
    kind: 'verdict',
    time,
    runId: r.run_id,
    stage: r.stage,
    guard: r.guard,
    safe: r.safe,
    categories: r.categories ?? [],
    ...(r.score !== null ? { score: r.score } : {}),
    latencyMs: r.latency_ms,
    action: r.action,
    ...(r.failure ? { failure: r.failure } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.tool_call_id !== null ? { toolCallId: r.tool_call_id } : {}),
  };
  return {
    cursor: Buffer.from(JSON.stringify([time, r.session_id, r.seq, r.position])).toString('base64url'),
    time,
    conversationId: r.conversation_id,
    customerId: r.customer_id,
    entry,
  };
}

function parseCursor(text: string): [time: string, sessionId: string, seq: number, position: number] {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    const [time, sessionId, seq, position] = value;
    if (
      value.length === 4 &&
      typeof time === 'string' &&
      !Number.isNaN(Date.parse(time)) &&
      typeof sessionId === 'string' &&
      Number.isInteger(seq) &&
      Number.isInteger(position)
    ) {
      return [time, sessionId, seq as number, position as number];
    }
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
}

export class PostgresShopStore extends PostgresStoreBase implements ShopStore {
  readonly shared = true;
  /** This process, as the holder of run leases (host and pid, for whoever reads the table). */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly leaseMs: number;

  constructor(connection: PostgresConnection, options: PostgresShopStoreOptions = {}) {
    super(connection, options);
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  /** Lookout's tables (the moderation page reads lookout_audit), the shop's, then the demo data into an empty shop. */
  protected override async migrateSchema(): Promise<unknown> {
    await migrate(this.pool);
    await applyMigrations(this.pool, SHOP_SCHEMA);
    await inTransaction(this.pool, (client) => this.seed(client));
    return undefined;
  }

  /** Replicas starting together may both seed: every row goes in once (ON CONFLICT DO NOTHING). */
  private async seed(client: PgPoolClient): Promise<void> {
    const { rowCount } = await client.query('SELECT 1 FROM shop_customers LIMIT 1');
    if (rowCount) return;
    for (const c of DEMO_CUSTOMERS) {
      await client.query('INSERT INTO shop_customers (id, name, email) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [c.id, c.name, c.email]);
    }
    for (const o of demoOrders()) await this.insertOrder(client, o, 'ON CONFLICT DO NOTHING');
  }

  private async rows<T extends object>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T & Record<string, unknown>>(text, values)).rows;
  }

  // ------------------------------------------------------------------ customers and sessions

  async customers(): Promise<Customer[]> {
    return this.rows<Customer>('SELECT id, name, email FROM shop_customers ORDER BY name');
  }

  async customer(id: string): Promise<Customer | undefined> {
    return (await this.rows<Customer>('SELECT id, name, email FROM shop_customers WHERE id = $1', [id]))[0];
  }

  async addCustomer(c: Customer): Promise<void> {
    await this.pool.query('INSERT INTO shop_customers (id, name, email) VALUES ($1, $2, $3)', [c.id, c.name, c.email]);
  }

  async createBrowserSession(token: string, customerId: string, limits: SessionLimits = DEFAULT_SESSION_LIMITS): Promise<BrowserSession> {
    const conversationId = newConversationId();
    await inTransaction(this.pool, async (client) => {
      await client.query('INSERT INTO shop_conversations (id, session_key, customer_id) VALUES ($1, $1, $2)', [conversationId, customerId]);
      await client.query('INSERT INTO shop_browser_sessions (token_hash, conversation_id, customer_id) VALUES ($1, $2, $3)', [hashToken(token), conversationId, customerId]);
    });
    await this.pruneBrowserSessions(limits, customerId);
    return { ...(await this.customer(customerId))!, conversationId, sessionKey: conversationId };
  }

  /**
   * Expired sessions, then the least recently used beyond the per-customer and total limits.
   * Outside the sign-in's transaction: two replicas pruning at once may deadlock, and then the
   * loser leaves the pruning to the next sign-in.
   */
  private async pruneBrowserSessions(limits: SessionLimits, customerId: string): Promise<void> {
    try {
      await this.pool.query('DELETE FROM shop_browser_sessions WHERE last_seen_at < now() - make_interval(secs => $1::float8 / 1000)', [limits.idleMs]);
      await this.pool.query(
        `DELETE FROM shop_browser_sessions WHERE token_hash IN (
           SELECT token_hash FROM shop_browser_sessions WHERE customer_id = $1 ORDER BY last_seen_at DESC, created_at DESC OFFSET $2)`,
        [customerId, limits.maxSessionsPerCustomer],
      );
      await this.pool.query(
        'DELETE FROM shop_browser_sessions WHERE token_hash IN (SELECT token_hash FROM shop_browser_sessions ORDER BY last_seen_at DESC, created_at DESC OFFSET $1)',
        [limits.maxSessions],
      );
    } catch (error) {
      if (sqlState(error) !== DEADLOCK) throw error;
    }
  }

  async browserSession(token: string, idleMs = DEFAULT_SESSION_LIMITS.idleMs): Promise<BrowserSession | undefined> {
    const hash = hashToken(token);
    // Ages are measured on the database's clock, the same for every replica.
    const [row] = await this.rows<BrowserSession & { expired: boolean; stale: boolean }>(
      `SELECT c.id, c.name, c.email, v.id AS "conversationId", v.session_key AS "sessionKey",
         s.last_seen_at < now() - make_interval(secs => $2::float8 / 1000) AS expired, s.last_seen_at < now() - interval '1 minute' AS stale
       FROM shop_browser_sessions s JOIN shop_customers c ON c.id = s.customer_id JOIN shop_conversations v ON v.id = s.conversation_id
       WHERE s.token_hash = $1`,
      [hash, idleMs],
    );
    if (!row) return undefined;
    if (row.expired) {
      await this.pool.query('DELETE FROM shop_browser_sessions WHERE token_hash = $1', [hash]);
      return undefined;
    }
    // Written at most once a minute per session.
    if (row.stale) await this.pool.query('UPDATE shop_browser_sessions SET last_seen_at = now() WHERE token_hash = $1', [hash]);
    const { expired: _expired, stale: _stale, ...session } = row;
    return session;
  }

  async deleteBrowserSession(token: string): Promise<void> {
    await this.pool.query('DELETE FROM shop_browser_sessions WHERE token_hash = $1', [hashToken(token)]);
  }

  async browserSessionCount(): Promise<number> {
    return (await this.rows<{ n: number }>('SELECT count(*)::int AS n FROM shop_browser_sessions'))[0]!.n;
  }

  async conversations(): Promise<Conversation[]> {
    const rows = await this.rows<Omit<Conversation, 'createdAt'> & { createdAt: Date }>(
      'SELECT id, session_key AS "sessionKey", customer_id AS "customerId", created_at AS "createdAt" FROM shop_conversations ORDER BY created_at, id',
    );
    return rows.map((r) => ({ ...r, createdAt: iso(r.createdAt) }));
  }

  async conversationOfKey(sessionKey: string): Promise<{ id: string; customerId: string } | undefined> {
    return (await this.rows<{ id: string; customerId: string }>('SELECT id, customer_id AS "customerId" FROM shop_conversations WHERE session_key = $1', [sessionKey]))[0];
  }

  // ------------------------------------------------------------------ staff

  async staffAccount(username: string): Promise<StaffAccountRow | undefined> {
    return (await this.rows<StaffAccountRow>('SELECT username, password_hash AS "passwordHash" FROM shop_staff_accounts WHERE username = $1', [username]))[0];
  }

  async firstStaffAccount(): Promise<StaffAccountRow | undefined> {
    return (await this.rows<StaffAccountRow>('SELECT username, password_hash AS "passwordHash" FROM shop_staff_accounts ORDER BY created_at, username LIMIT 1'))[0];
  }

  async addStaffAccount(username: string, passwordHash: string): Promise<StaffAccountRow> {
    await this.pool.query('INSERT INTO shop_staff_accounts (username, password_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING', [username, passwordHash]);
    return (await this.staffAccount(username))!;
  }

  async createStaffSession(token: string, username: string, limits: { maxSessions: number; idleMs: number }): Promise<void> {
    await this.pool.query('INSERT INTO shop_staff_sessions (token_hash, username) VALUES ($1, $2)', [hashToken(token), username]);
    try {
      await this.pool.query('DELETE FROM shop_staff_sessions WHERE last_seen_at < now() - make_interval(secs => $1::float8 / 1000)', [limits.idleMs]);
      await this.pool.query(
        'DELETE FROM shop_staff_sessions WHERE token_hash IN (SELECT token_hash FROM shop_staff_sessions ORDER BY last_seen_at DESC, created_at DESC OFFSET $1)',
        [limits.maxSessions],
      );
    } catch (error) {
      if (sqlState(error) !== DEADLOCK) throw error;
    }
  }

  async staffSession(token: string, idleMs: number): Promise<{ username: string } | undefined> {
    const hash = hashToken(token);
    const [row] = await this.rows<{ username: string; expired: boolean; stale: boolean }>(
      `SELECT username, last_seen_at < now() - make_interval(secs => $2::float8 / 1000) AS expired, last_seen_at < now() - interval '1 minute' AS stale
       FROM shop_staff_sessions WHERE token_hash = $1`,
      [hash, idleMs],
    );
    if (!row) return undefined;
    if (row.expired) {
      await this.pool.query('DELETE FROM shop_staff_sessions WHERE token_hash = $1', [hash]);
      return undefined;
    }
    if (row.stale) await this.pool.query('UPDATE shop_staff_sessions SET last_seen_at = now() WHERE token_hash = $1', [hash]);
    return { username: row.username };
  }

  async deleteStaffSession(token: string): Promise<void> {
    await this.pool.query('DELETE FROM shop_staff_sessions WHERE token_hash = $1', [hashToken(token)]);
  }

  // ------------------------------------------------------------------ moderation: Lookout's audit table

  /** Nothing to do: the session store wrote the verdicts to lookout_audit in the turn's own transaction. */
  async indexVerdicts(): Promise<void> {}

  async verdictPage(limit: number, before?: string): Promise<IndexedVerdict[]> {
    const rows =
      before === undefined
        ? await this.rows<VerdictRow>(`${VERDICTS} ${VERDICT_ORDER} LIMIT $1`, [limit])
        : await this.rows<VerdictRow>(`${VERDICTS} AND (a.time, a.session_id, a.seq, a.position) < ($1::timestamptz, $2::text, $3::int, $4::int) ${VERDICT_ORDER} LIMIT $5`, [
            ...parseCursor(before),
            limit,
          ]);
    return rows.map(toVerdict);
  }

  /** Every verdict is in lookout_audit from the start: nothing is left to index. */
  async unindexedConversations(): Promise<Array<{ id: string; sessionKey: string; customerId: string }>> {
    return [];
  }

  async markVerdictsIndexed(): Promise<void> {}

  // ------------------------------------------------------------------ messages refused before the agent

  async addRefusedMessage(sessionKey: string, text: string, note: string): Promise<void> {
    await this.pool.query('INSERT INTO shop_refused_messages (session_key, text, note) VALUES ($1, $2, $3)', [sessionKey, text, note]);
  }

  async refusedMessages(sessionKey: string): Promise<Array<{ text: string; note: string; createdAt: string }>> {
    const rows = await this.rows<{ text: string; note: string; created_at: Date }>('SELECT text, note, created_at FROM shop_refused_messages WHERE session_key = $1 ORDER BY id', [
      sessionKey,
    ]);
    return rows.map((r) => ({ text: r.text, note: r.note, createdAt: iso(r.created_at) }));
  }

  // ------------------------------------------------------------------ orders (always per customer)

  async addOrder(o: Order): Promise<void> {
    await this.insertOrder(this.pool, o);
  }

  private async insertOrder(client: Pick<PgPoolClient, 'query'>, o: Order, onConflict = ''): Promise<void> {
    await client.query(
      `INSERT INTO shop_orders (id, customer_id, status, placed_at, delivered_at, items, total) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ${onConflict}`,
      [o.id, o.customerId, o.status, o.placedAt, o.deliveredAt, JSON.stringify(o.items), o.total],
    );
  }

  async orderOf(customerId: string, orderId: string): Promise<Order | undefined> {
    const [row] = await this.rows<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM shop_orders WHERE id = $1 AND customer_id = $2`, [orderId, customerId]);
    return row && toOrder(row);
  }

  async ordersOf(customerId: string): Promise<Order[]> {
    return (await this.rows<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM shop_orders WHERE customer_id = $1 ORDER BY placed_at DESC`, [customerId])).map(toOrder);
  }

  // ------------------------------------------------------------------ refunds and hand-overs

  async addRefundRequest(r: Omit<RefundRequest, 'id' | 'createdAt'>, idempotencyKey: string): Promise<RefundRequest | RefundExceeds> {
    return inTransaction(this.pool, async (client): Promise<RefundRequest | RefundExceeds> => {
      // The order's row lock queues every refund of that order (and every retry of one call) behind this one.
      const order = await client.query<{ total: number }>('SELECT total::float8 AS total FROM shop_orders WHERE id = $1 FOR UPDATE', [r.orderId]);
      const existing = await client.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM shop_refund_requests WHERE idempotency_key = $1`, [idempotencyKey]);
      if (existing.rows[0]) return toRefund(existing.rows[0]);
      const refunded = await client.query<{ sum: number }>(
        "SELECT coalesce(sum(amount), 0)::float8 AS sum FROM shop_refund_requests WHERE order_id = $1 AND status <> 'rejected'",
        [r.orderId],
      );
      const left = Math.round(((order.rows[0]?.total ?? 0) - refunded.rows[0]!.sum) * 100) / 100;
      if (r.amount > left) return { exceeds: true, left };
      const inserted = await client.query<RefundRow>(
        `INSERT INTO shop_refund_requests (order_id, customer_id, amount, reason, status, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${REFUND_COLUMNS}`,
        [r.orderId, r.customerId, r.amount, r.reason, r.status, idempotencyKey],
      );
      return toRefund(inserted.rows[0]!);
    });
  }

  async refundByKey(idempotencyKey: string): Promise<RefundRequest | undefined> {
    const [row] = await this.rows<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM shop_refund_requests WHERE idempotency_key = $1`, [idempotencyKey]);
    return row && toRefund(row);
  }

  async refundRequestsOf(customerId: string): Promise<RefundRequest[]> {
    return (await this.rows<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM shop_refund_requests WHERE customer_id = $1 ORDER BY id`, [customerId])).map(toRefund);
  }

  async refundedAmount(orderId: string): Promise<number> {
    const [row] = await this.rows<{ sum: number }>("SELECT coalesce(sum(amount), 0)::float8 AS sum FROM shop_refund_requests WHERE order_id = $1 AND status <> 'rejected'", [orderId]);
    return row!.sum;
  }

  async addHandover(customerId: string, sessionId: string, summary: string): Promise<number> {
    const [row] = await this.rows<{ id: string }>('INSERT INTO shop_handovers (customer_id, session_id, summary) VALUES ($1, $2, $3) RETURNING id', [customerId, sessionId, summary]);
    return Number(row!.id);
  }

  async handovers(): Promise<Handover[]> {
    const rows = await this.rows<{ id: string; customer_id: string; conversation_id: string | null; summary: string; created_at: Date }>(
      'SELECT h.id, h.customer_id, c.id AS conversation_id, h.summary, h.created_at FROM shop_handovers h LEFT JOIN shop_conversations c ON c.session_key = h.session_id ORDER BY h.id DESC',
    );
    return rows.map((r) => ({ id: Number(r.id), customerId: r.customer_id, conversationId: r.conversation_id, summary: r.summary, createdAt: iso(r.created_at) }));
  }

  // ------------------------------------------------------------------ approvals

  async addApproval(a: { id: string; runId: string; sessionId: string; customerId: string; tool: string; arguments: unknown; state: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO shop_approvals (id, run_id, session_id, customer_id, tool, arguments, state, status)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::json, 'pending') ON CONFLICT (id) DO NOTHING`,
      [a.id, a.runId, a.sessionId, a.customerId, a.tool, JSON.stringify(a.arguments ?? null), a.state],
    );
  }

  async approval(id: string): Promise<PendingApprovalRow | undefined> {
    const [row] = await this.rows<ApprovalRow>(`${APPROVALS} WHERE a.id = $1`, [id]);
    return row && toApproval(row);
  }

  async approvals(): Promise<PendingApprovalRow[]> {
    return (await this.rows<ApprovalRow>(`${APPROVALS} ORDER BY a.status = 'pending' DESC, a.created_at DESC`)).map(toApproval);
  }

  async openApprovalFor(sessionId: string): Promise<PendingApprovalRow | undefined> {
    const [row] = await this.rows<ApprovalRow>(`${APPROVALS} WHERE a.session_id = $1 AND (a.status = 'pending' OR a.run_status = 'running') ORDER BY a.created_at DESC LIMIT 1`, [
      sessionId,
    ]);
    return row && toApproval(row);
  }

  /**
   * One statement: the decision (only while pending; a second decider, on any replica, waits
   * for the first's row lock and then finds it decided) and the run's lease for this process.
   */
  async decideApproval(id: string, status: 'approved' | 'rejected', note: string | null): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `WITH decided AS (
         UPDATE shop_approvals SET status = $2, note = $3, decided_at = now(), run_status = 'running'
         WHERE id = $1 AND status = 'pending' RETURNING run_id)
       INSERT INTO shop_run_leases (run_id, owner, lease_until)
       SELECT run_id, $4, now() + make_interval(secs => $5::float8 / 1000) FROM decided
       ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
       RETURNING run_id`,
      [id, status, note, this.owner, this.leaseMs],
    );
    return rowCount === 1;
  }

  async finishApprovalRun(id: string, outcome: 'done' | 'failed'): Promise<void> {
    await this.pool.query('UPDATE shop_approvals SET run_status = $2 WHERE id = $1', [id, outcome]);
  }

  async runningApprovals(): Promise<PendingApprovalRow[]> {
    return (await this.rows<ApprovalRow>(`${APPROVALS} WHERE a.run_status = 'running' ORDER BY a.decided_at`)).map(toApproval);
  }

  // ------------------------------------------------------------------ run checkpoints and leases

  /** The checkpoint is written only together with this process's lease on the run. */
  async saveCheckpoint(c: Omit<RunCheckpoint, 'approvalId'> & { approvalId?: string }): Promise<void> {
    const { rowCount } = await this.pool.query(
      `WITH lease AS (${TAKE_LEASE})
       INSERT INTO shop_run_checkpoints (run_id, session_key, customer_id, approval_id, state)
       SELECT run_id, $4, $5, $6, $7::json FROM lease
       ON CONFLICT (run_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
       RETURNING run_id`,
      [c.runId, this.owner, this.leaseMs, c.sessionKey, c.customerId, c.approvalId ?? null, c.state],
    );
    if (rowCount !== 1) throw new RunTakenOverError(c.runId);
  }

  async checkpoints(): Promise<RunCheckpoint[]> {
    return this.rows<RunCheckpoint>(
      `SELECT run_id AS "runId", session_key AS "sessionKey", customer_id AS "customerId", approval_id AS "approvalId", state::text AS state
       FROM shop_run_checkpoints ORDER BY updated_at`,
    );
  }

  async deleteCheckpoint(runId: string): Promise<void> {
    await this.pool.query(
      `WITH mine AS (DELETE FROM shop_run_leases WHERE run_id = $1 AND owner = $2 RETURNING run_id)
       DELETE FROM shop_run_checkpoints WHERE run_id IN (SELECT run_id FROM mine)`,
      [runId, this.owner],
    );
  }

  async takeRun(runId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(TAKE_LEASE, [runId, this.owner, this.leaseMs]);
    return rowCount === 1;
  }

  async renewRuns(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.pool.query('UPDATE shop_run_leases SET lease_until = now() + make_interval(secs => $3::float8 / 1000) WHERE owner = $1 AND run_id = ANY($2::text[])', [
      this.owner,
      runIds,
      this.leaseMs,
    ]);
  }
}
