// The bot's web server (node:http): demo sign-in, the chat page with streamed replies, the staff
// page that approves refunds (resuming the paused run) and the moderation page (audit log).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent, AgentEvent, AgentResult, RunState, VerdictAuditEntry } from '@lookout/core';
import { politeRefusal } from './agent.js';
import type { Customer, ShopDb } from './db.js';
import { MESSAGE_LIMITS } from './guards.js';
import { cookies, HttpError, readForm, readJson, redirect, sendHtml, sendJson, SseWriter } from './http.js';
import { chatPage } from './pages/chat.js';
import { moderationPage } from './pages/moderation.js';
import { signInPage } from './pages/signin.js';
import { staffPage } from './pages/staff.js';
import type { ShopContext } from './tools.js';
import { showMessages, showTurns, toContentParts, toolLabel } from './transcript.js';

export interface ShopServerOptions {
  agent: Agent<ShopContext>;
  db: ShopDb;
  /** Lines shown at the top of every page (which model runs, how to plug in a real one). */
  banner?: string[];
  /** Show the banner as a warning: the replies do not come from a real model. */
  warn?: boolean;
  /** Largest request body (JSON with base64 photos: 4 × 5 MB grow by a third). Default 32 MiB. */
  maxBodyBytes?: number;
}

const COOKIE = 'lookout_sid';

export interface ModerationRow extends VerdictAuditEntry {
  sessionId: string;
  customer: string;
}

export class ShopServer {
  readonly server: Server;
  private readonly busy = new Set<string>();
  private readonly maxBody: number;

  constructor(private readonly options: ShopServerOptions) {
    this.maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error) => this.fail(res, error));
    });
  }

  /** Starts listening; resolves with the page's URL. */
  listen(port: number, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const { port: actual } = this.server.address() as AddressInfo;
        resolve(`http://${host.includes(':') ? `[${host}]` : host}:${actual}/`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private get page() {
    return { banner: this.options.banner ?? [], warn: this.options.warn ?? false };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const key = `${method} ${url.pathname}`;
    const { db } = this.options;

    switch (key) {
      case 'GET /': {
        const customer = this.customerOf(req);
        if (!customer) return sendHtml(res, signInPage(this.page, db.customers()));
        return sendHtml(res, chatPage(this.page, customer));
      }
      case 'POST /signin': {
        const form = await readForm(req, 4096);
        const customer = db.customer(form.get('customer') ?? '');
        if (!customer) throw new HttpError(400, 'unknown-customer', `Pick one of the demo customers: ${db.customers().map((c) => c.id).join(', ')}.`);
        const sessionId = `s_${randomUUID()}`;
        db.createWebSession(sessionId, customer.id);
        return redirect(res, '/', { 'set-cookie': `${COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000` });
      }
      case 'POST /signout':
        return redirect(res, '/', { 'set-cookie': `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` });
      case 'GET /api/history':
        return sendJson(res, 200, await this.history(this.requireSession(req)));
      case 'POST /api/chat':
        return this.chat(req, res, this.requireSession(req));
      case 'GET /staff':
        return sendHtml(res, staffPage(this.page));
      case 'GET /api/approvals':
        return sendJson(res, 200, this.approvals());
      case 'GET /moderation':
        return sendHtml(res, moderationPage(this.page));
      case 'GET /api/verdicts':
        return sendJson(res, 200, { verdicts: await this.verdicts() });
      case 'GET /healthz':
        return sendJson(res, 200, { ok: true });
    }
    const decision = /^\/api\/approvals\/([A-Za-z0-9-]+)$/.exec(url.pathname);
    if (decision && method === 'POST') return sendJson(res, 200, await this.decide(decision[1]!, await readJson(req, 16 * 1024)));
    throw new HttpError(404, 'not-found', `No page at ${method} ${url.pathname}.`);
  }

  private customerOf(req: IncomingMessage): (Customer & { sessionId: string }) | undefined {
    const sessionId = cookies(req).get(COOKIE);
    if (!sessionId) return undefined;
    const customer = this.options.db.sessionCustomer(sessionId);
    return customer && { ...customer, sessionId };
  }

  private requireSession(req: IncomingMessage): Customer & { sessionId: string } {
    const c = this.customerOf(req);
    if (!c) throw new HttpError(401, 'not-signed-in', 'Sign in first: open / and pick a demo customer.');
    return c;
  }

  private async history(c: Customer & { sessionId: string }) {
    const { turns } = await this.options.agent.sessions.load(c.sessionId);
    const pending = this.options.db.pendingApprovalFor(c.sessionId);
    // A run waiting for staff is not stored yet; show its messages from the paused state.
    const waiting = pending ? pausedMessages(pending.state) : [];
    return { customer: { id: c.id, name: c.name }, messages: [...showTurns(turns, politeRefusal), ...showMessages(waiting)], pendingApproval: pending ? { tool: pending.tool, arguments: pending.arguments } : null };
  }

  private async chat(req: IncomingMessage, res: ServerResponse, c: Customer & { sessionId: string }): Promise<void> {
    const parts = toContentParts(await readJson(req, this.maxBody), MESSAGE_LIMITS.maxImages);
    if (this.options.db.pendingApprovalFor(c.sessionId)) {
      throw new HttpError(409, 'awaiting-approval', 'Your refund request is with our staff; you can write again once they have decided.');
    }
    if (this.busy.has(c.sessionId)) throw new HttpError(409, 'turn-in-progress', 'Please wait for the current reply to finish.');
    this.busy.add(c.sessionId);
    const sse = new SseWriter(res);
    const controller = new AbortController();
    // The customer closing the page cancels the run (and the model step under it).
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client went away'));
    });
    try {
      const context: ShopContext = { customerId: c.id, sessionId: c.sessionId };
      const stream = this.options.agent.stream(parts, { sessionId: c.sessionId, context, signal: controller.signal });
      let result: AgentResult | undefined;
      for await (const event of stream) {
        forward(sse, event);
        if (event.type === 'turn-end') result = event.result;
      }
      if (result?.status === 'awaiting-approval' && result.state && result.pendingApproval) {
        this.options.db.addApproval({
          id: randomUUID(),
          sessionId: c.sessionId,
          customerId: c.id,
          tool: result.pendingApproval.name,
          arguments: result.pendingApproval.arguments,
          state: JSON.stringify(result.state),
        });
        sse.send('approval', { message: approvalMessage(result.pendingApproval.arguments) });
      }
    } catch (error) {
      if (!controller.signal.aborted) sse.send('error', { message: `Sorry, something went wrong: ${(error as Error).message}` });
    } finally {
      this.busy.delete(c.sessionId);
      sse.end();
    }
  }

  private approvals() {
    const { db } = this.options;
    const names = new Map(db.customers().map((c) => [c.id, c.name]));
    return {
      approvals: db.approvals().map((a) => ({
        id: a.id,
        customer: names.get(a.customerId) ?? a.customerId,
        tool: a.tool,
        arguments: a.arguments,
        status: a.status,
        note: a.note,
        createdAt: a.createdAt,
        decidedAt: a.decidedAt,
        conversation: showMessages(pausedMessages(a.state)),
      })),
      handovers: db.handovers().map((h) => ({ ...h, customer: names.get(h.customerId) ?? h.customerId })),
    };
  }

  /** Staff decision: resumes the paused run with the customer's context; its reply lands in their transcript. */
  private async decide(id: string, body: unknown) {
    const { db, agent } = this.options;
    const b = (body ?? {}) as { decision?: unknown; note?: unknown };
    if (b.decision !== 'approve' && b.decision !== 'reject') throw new HttpError(400, 'invalid-decision', 'Send {"decision": "approve" | "reject", "note"?: string}.');
    const note = typeof b.note === 'string' && b.note.trim() ? b.note.trim().slice(0, 500) : null;
    const approval = db.approval(id);
    if (!approval) throw new HttpError(404, 'unknown-approval', `No approval ${id}.`);
    if (this.busy.has(approval.sessionId)) throw new HttpError(409, 'turn-in-progress', 'That conversation is busy; try again in a moment.');
    if (!db.decideApproval(id, b.decision === 'approve' ? 'approved' : 'rejected', note)) {
      throw new HttpError(409, 'already-decided', `Approval ${id} was already ${approval.status}.`);
    }
    this.busy.add(approval.sessionId);
    try {
      const context: ShopContext = { customerId: approval.customerId, sessionId: approval.sessionId };
      const state = JSON.parse(approval.state) as RunState;
      const result =
        b.decision === 'approve'
          ? await agent.resume(state, { approve: true, context })
          : await agent.resume(state, { reject: note ?? 'a member of staff declined the refund', context });
      if (result.status === 'awaiting-approval' && result.state && result.pendingApproval) {
        db.addApproval({ id: randomUUID(), sessionId: approval.sessionId, customerId: approval.customerId, tool: result.pendingApproval.name, arguments: result.pendingApproval.arguments, state: JSON.stringify(result.state) });
      }
      return { status: result.status, text: result.text };
    } catch (error) {
      db.reopenApproval(id);
      throw error;
    } finally {
      this.busy.delete(approval.sessionId);
    }
  }

  /** Every guard verdict of every session, newest first, from the agent's audit log. */
  async verdicts(): Promise<ModerationRow[]> {
    const { db, agent } = this.options;
    const names = new Map(db.customers().map((c) => [c.id, c.name]));
    const rows: ModerationRow[] = [];
    for (const s of db.webSessions()) {
      for (const entry of await agent.auditLog(s.id)) {
        if (entry.kind === 'verdict') rows.push({ ...entry, sessionId: s.id, customer: names.get(s.customerId) ?? s.customerId });
      }
    }
    return rows.sort((a, b) => b.time.localeCompare(a.time)).slice(0, 1000);
  }

  private fail(res: ServerResponse, error: unknown): void {
    const known = error instanceof HttpError;
    if (!known) console.error(error);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendJson(res, known ? error.status : 500, { error: { code: known ? error.code : 'internal', message: (error as Error).message } });
  }
}

function pausedMessages(stateJson: string) {
  const state = JSON.parse(stateJson) as RunState;
  return state.conversation.slice(state.turnStart);
}

function approvalMessage(args: unknown): string {
  const a = args as { amount?: number; orderId?: string };
  return `A refund of ${a.amount ?? '?'} for order ${a.orderId ?? '?'} needs a quick check by our staff. You'll see their answer here.`;
}

/** Agent events the page shows, as server-sent events. */
function forward(sse: SseWriter, event: AgentEvent): void {
  switch (event.type) {
    case 'text-delta':
      return sse.send('delta', { text: event.text });
    case 'guard-verdict':
      // The input PII guard rewrites the customer's text; the page shows what was kept.
      if (event.stage === 'input' && event.verdict.redactedText !== undefined) sse.send('redacted', { text: event.verdict.redactedText });
      return;
    case 'blocked':
      if (event.stage === 'input' || event.stage === 'output') sse.send('blocked', { stage: event.stage, text: event.replacement, categories: event.verdict.categories });
      return;
    case 'tool-call':
      return sse.send('tool', { name: event.name, label: toolLabel(event.name) });
    case 'turn-end':
      return sse.send('done', { status: event.result.status });
    default:
      return;
  }
}
