// The bot's web server (node:http): demo customer sign-in, the chat page with streamed replies,
// staff sign-in, the staff page that approves refunds (resuming the paused run) and the
// moderation page (the verdict index). Every request passes the Host allow-list; every POST
// passes the origin check; every response carries the security headers (security.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent, AgentEvent, AgentResult, RunState, VerdictAuditEntry } from '@lookout/core';
import { PiiGuard } from '@lookout/guards';
import { politeRefusal } from './agent.js';
import { DurableRuns } from './runs.js';
import { DEFAULT_SESSION_LIMITS, InvalidCursorError, type BrowserSession, type SessionLimits, type ShopStore } from './store/types.js';
import { MESSAGE_LIMITS } from './guards.js';
import { cookies, HttpError, readForm, readJson, redirect, sendAsset, sendHtml, sendJson, setCookie, SseWriter } from './http.js';
import { checkPhotos, DEFAULT_PHOTO_LIMITS, PhotoError, type PhotoLimits } from './images.js';
import { ASSETS } from './pages/assets.js';
import { chatPage } from './pages/chat.js';
import { moderationPage } from './pages/moderation.js';
import { signInPage } from './pages/signin.js';
import { staffNext, staffSignInPage } from './pages/staff-signin.js';
import { staffPage } from './pages/staff.js';
import { defaultAllowedHosts, HostAllowList, PAGE_REFERRER_POLICY, setSecurityHeaders } from './security.js';
import { checkStaffSignIn, DEFAULT_STAFF_SESSION_LIMITS, SignInThrottle, type StaffAccount, type StaffSessionLimits } from './staff-auth.js';
import type { ShopContext } from './tools.js';
import { showMessages, showTurns, toContentParts, toolLabel, type ShownMessage } from './transcript.js';

export interface ShopServerOptions {
  agent: Agent<ShopContext>;
  db: ShopStore;
  /** The staff account (see resolveStaffAccount): signs in to /staff and /moderation. */
  staff: StaffAccount;
  /** Lines shown at the top of every page (which model runs, how to plug in a real one). */
  banner?: string[];
  /** Show the banner as a warning: the replies do not come from a real model. */
  warn?: boolean;
  /** Largest request body (JSON with base64 photos: 4 × 5 MB grow by a third). Default 32 MiB. */
  maxBodyBytes?: number;
  /** Host header values answered; default: the bound host and port (plus localhost names on loopback). */
  allowedHosts?: string[];
  /** Mark cookies Secure (serve behind https). */
  secureCookies?: boolean;
  /** Trust X-Forwarded-Proto / X-Forwarded-For from a reverse proxy in front of the bot. */
  trustProxy?: boolean;
  sessionLimits?: Partial<SessionLimits>;
  staffSessionLimits?: Partial<StaffSessionLimits>;
  photoLimits?: PhotoLimits;
  /** Where unexpected errors are logged. Default console.error. */
  logError?: (message: string, error: unknown) => void;
  /** With a shared store: how often run leases are renewed and interrupted runs looked for (see DurableRuns). */
  runTimers?: { renewEveryMs?: number; sweepEveryMs?: number };
}

const COOKIE = 'lookout_sid';
const STAFF_COOKIE = 'lookout_staff';

/** What the moderation page lists: a verdict, the conversation's opaque id and the customer's name. */
export interface ModerationRow extends VerdictAuditEntry {
  conversationId: string;
  customer: string;
}

const MAX_VERDICT_PAGE = 500;
const DEFAULT_VERDICT_PAGE = 100;
const redactor = new PiiGuard({ action: 'redact', name: 'pii-redaction' });

export class ShopServer {
  readonly server: Server;
  private readonly busy = new Set<string>();
  private readonly maxBody: number;
  private readonly sessionLimits: SessionLimits;
  private readonly staffLimits: StaffSessionLimits;
  private readonly photoLimits: PhotoLimits;
  private readonly throttle = new SignInThrottle();
  /** Checkpoints, staff decisions and start-up recovery of interrupted runs. */
  readonly runs: DurableRuns;
  private hosts: HostAllowList | undefined;

  constructor(private readonly options: ShopServerOptions) {
    this.runs = new DurableRuns(options.agent, options.db, { logError: (m, e) => this.logError(m, e), ...options.runTimers });
    this.maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
    this.sessionLimits = { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits };
    this.staffLimits = { ...DEFAULT_STAFF_SESSION_LIMITS, ...options.staffSessionLimits };
    this.photoLimits = options.photoLimits ?? DEFAULT_PHOTO_LIMITS;
    if (options.allowedHosts?.length) this.hosts = new HostAllowList(options.allowedHosts);
    // Every turn that ends (a chat turn, a resumed run) adds its verdicts to the moderation index.
    options.agent.on('turn-end', (event) => void this.indexTurn(event.result));
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error) => this.fail(res, error));
    });
  }

  /** Starts listening; resolves with the page's URL. Without allowedHosts, the allow-list follows the bound address. */
  listen(port: number, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const { port: actual } = this.server.address() as AddressInfo;
        this.hosts ??= new HostAllowList(defaultAllowedHosts(host, actual));
        resolve(`http://${host.includes(':') ? `[${host}]` : host}:${actual}/`);
      });
    });
  }

  /** The Host values this server answers. */
  get allowedHosts(): string[] {
    return this.hosts?.hosts ?? [];
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
    await this.runs.stop();
  }

  private get page() {
    return { banner: this.options.banner ?? [], warn: this.options.warn ?? false };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    if (!this.hosts) throw new HttpError(503, 'not-listening', 'The server is not listening yet.');
    this.hosts.check(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    // Cross-site request forgery: every state-changing request must come from the bot's pages.
    if (method !== 'GET' && method !== 'HEAD') this.hosts.checkOrigin(req);
    const key = `${method} ${url.pathname}`;
    const { db } = this.options;

    const asset = method === 'GET' ? ASSETS[url.pathname] : undefined;
    if (asset) return sendAsset(res, asset.body, asset.type);

    switch (key) {
      case 'GET /': {
        const customer = await this.customerOf(req);
        if (!customer) return sendHtml(res, signInPage(this.page, await db.customers()), PAGE_REFERRER_POLICY);
        return sendHtml(res, chatPage(this.page, customer), PAGE_REFERRER_POLICY);
      }
      case 'POST /signin': {
        const form = await readForm(req, 4096);
        const customer = await db.customer(form.get('customer') ?? '');
        if (!customer) throw new HttpError(400, 'unknown-customer', `Pick one of the demo customers: ${(await db.customers()).map((c) => c.id).join(', ')}.`);
        const old = cookies(req).get(COOKIE);
        if (old) await db.deleteBrowserSession(old);
        const token = randomBytes(32).toString('base64url');
        await db.createBrowserSession(token, customer.id, this.sessionLimits);
        return redirect(res, '/', { 'set-cookie': this.cookie(req, COOKIE, token, 'Lax', this.sessionLimits.idleMs) });
      }
      case 'POST /signout': {
        const token = cookies(req).get(COOKIE);
        if (token) await db.deleteBrowserSession(token);
        return redirect(res, '/', { 'set-cookie': this.cookie(req, COOKIE, '', 'Lax', 0) });
      }
      case 'GET /api/history':
        return sendJson(res, 200, await this.history(await this.requireCustomer(req)));
      case 'POST /api/chat':
        return this.chat(req, res, await this.requireCustomer(req));
      case 'GET /staff/signin': {
        const next = staffNext(url.searchParams.get('next'));
        if (await this.staffOf(req)) return redirect(res, next);
        return sendHtml(res, staffSignInPage(this.page, next), PAGE_REFERRER_POLICY);
      }
      case 'POST /staff/signin':
        return this.staffSignIn(req, res);
      case 'POST /staff/signout': {
        const token = cookies(req).get(STAFF_COOKIE);
        if (token) await db.deleteStaffSession(token);
        return redirect(res, '/staff/signin', { 'set-cookie': this.cookie(req, STAFF_COOKIE, '', 'Strict', 0) });
      }
      case 'GET /staff':
      case 'GET /moderation': {
        const staff = await this.staffOf(req);
        if (!staff) return redirect(res, `/staff/signin?next=${url.pathname}`);
        const html = url.pathname === '/staff' ? staffPage(this.page, staff.username) : moderationPage(this.page, staff.username);
        return sendHtml(res, html, PAGE_REFERRER_POLICY);
      }
      case 'GET /api/approvals':
        await this.requireStaff(req);
        return sendJson(res, 200, await this.approvals());
      case 'GET /api/verdicts':
        await this.requireStaff(req);
        return sendJson(res, 200, await this.verdicts(url.searchParams));
      case 'GET /healthz':
        return sendJson(res, 200, { ok: true });
    }
    const decision = /^\/api\/approvals\/([A-Za-z0-9-]+)$/.exec(url.pathname);
    if (decision && method === 'POST') {
      await this.requireStaff(req);
      return sendJson(res, 200, await this.decide(decision[1]!, await readJson(req, 16 * 1024)));
    }
    throw new HttpError(404, 'not-found', `No page at ${method} ${url.pathname}.`);
  }

  /** A cookie for this request: Secure when configured, or when a trusted proxy says the request came over https. */
  private cookie(req: IncomingMessage, name: string, value: string, sameSite: 'Strict' | 'Lax', maxAgeMs: number): string {
    const forwardedHttps = this.options.trustProxy === true && String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';
    return setCookie(name, value, { sameSite, maxAgeSeconds: maxAgeMs / 1000, secure: this.options.secureCookies === true || forwardedHttps });
  }

  private client(req: IncomingMessage): string {
    const forwarded = this.options.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]!.trim() : '';
    return forwarded || req.socket.remoteAddress || 'unknown';
  }

  private async customerOf(req: IncomingMessage): Promise<BrowserSession | undefined> {
    const token = cookies(req).get(COOKIE);
    return token ? this.options.db.browserSession(token, this.sessionLimits.idleMs) : undefined;
  }

  private async requireCustomer(req: IncomingMessage): Promise<BrowserSession> {
    const c = await this.customerOf(req);
    if (!c) throw new HttpError(401, 'not-signed-in', 'Sign in first: open / and pick a demo customer.');
    return c;
  }

  private async staffOf(req: IncomingMessage): Promise<{ username: string } | undefined> {
    const token = cookies(req).get(STAFF_COOKIE);
    return token ? this.options.db.staffSession(token, this.staffLimits.idleMs) : undefined;
  }

  /** Staff APIs answer members of staff only; a customer's cookie counts for nothing here. */
  private async requireStaff(req: IncomingMessage): Promise<{ username: string }> {
    const staff = await this.staffOf(req);
    if (!staff) throw new HttpError(401, 'staff-sign-in-required', 'This is for the shop\'s staff: sign in at /staff/signin with the staff user name and password.');
    return staff;
  }

  private async staffSignIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req, 4096);
    const next = staffNext(form.get('next'));
    const client = this.client(req);
    const wait = this.throttle.blockedFor(client);
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60_000);
      return sendHtml(res, staffSignInPage(this.page, next, `Too many failed sign-ins from this address; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`), { ...PAGE_REFERRER_POLICY, 'retry-after': String(Math.ceil(wait / 1000)) }, 429);
    }
    const ok = await checkStaffSignIn(this.options.staff, (form.get('username') ?? '').slice(0, 200), (form.get('password') ?? '').slice(0, 1000));
    if (!ok) {
      this.throttle.fail(client);
      return sendHtml(res, staffSignInPage(this.page, next, 'That user name and password do not match the staff account.'), PAGE_REFERRER_POLICY, 401);
    }
    this.throttle.succeed(client);
    const old = cookies(req).get(STAFF_COOKIE);
    if (old) await this.options.db.deleteStaffSession(old);
    const token = randomBytes(32).toString('base64url');
    await this.options.db.createStaffSession(token, this.options.staff.username, this.staffLimits);
    return redirect(res, next, { 'set-cookie': this.cookie(req, STAFF_COOKIE, token, 'Strict', this.staffLimits.idleMs) });
  }

  private async history(c: BrowserSession) {
    const { db, agent } = this.options;
    const { turns } = await agent.sessions.load(c.sessionKey);
    // Turns and the messages refused before they reached the agent, in the order they were sent.
    const items: Array<{ time: string; shown: ShownMessage[] }> = turns.map((t) => ({ time: t.startedAt, shown: showTurns([t], politeRefusal) }));
    for (const r of await db.refusedMessages(c.sessionKey)) {
      items.push({ time: r.createdAt, shown: [{ role: 'customer', text: r.text, images: [], refused: true }, { role: 'notice', text: r.note, images: [] }] });
    }
    items.sort((a, b) => a.time.localeCompare(b.time));
    // A run waiting for staff, or decided and still going (on any replica), is not stored yet;
    // show its messages from the paused state, so the page keeps waiting for the reply.
    const open = await db.openApprovalFor(c.sessionKey);
    const waiting = open ? pausedMessages(open.state) : [];
    return {
      customer: { id: c.id, name: c.name },
      messages: [...items.flatMap((i) => i.shown), ...showMessages(waiting)],
      pendingApproval: open ? { tool: open.tool, arguments: open.arguments, decided: open.status !== 'pending' } : null,
    };
  }

  private async chat(req: IncomingMessage, res: ServerResponse, c: BrowserSession): Promise<void> {
    const body = await readJson(req, this.maxBody);
    let parts;
    try {
      parts = toContentParts(body, MESSAGE_LIMITS.maxImages);
    } catch (error) {
      await this.keepRefused(c, body, error);
      throw error;
    }
    const open = await this.options.db.openApprovalFor(c.sessionKey);
    if (open?.status === 'pending') {
      throw new HttpError(409, 'awaiting-approval', 'Your refund request is with our staff; you can write again once they have decided.');
    }
    if (open || this.busy.has(c.sessionKey)) throw new HttpError(409, 'turn-in-progress', 'Please wait for the current reply to finish.');
    this.busy.add(c.sessionKey);
    let sse: SseWriter | undefined;
    let runId: string | undefined;
    const controller = new AbortController();
    try {
      // Photos are decoded within limits before the answer starts: a bad one gets a 4xx, not a broken stream.
      try {
        await checkPhotos(parts, this.photoLimits);
      } catch (error) {
        await this.keepRefused(c, body, error);
        throw error;
      }
      sse = new SseWriter(res);
      // The customer closing the page cancels the run (and the model step under it).
      res.on('close', () => {
        if (!res.writableFinished) controller.abort(new Error('client went away'));
      });
      const context: ShopContext = { customerId: c.id, sessionId: c.sessionKey };
      // Tool executions are checkpointed, so a crash mid-turn is finished at the next start.
      const checkpoint = this.runs.checkpointFor(c.sessionKey, c.id);
      const stream = this.options.agent.stream(parts, { sessionId: c.sessionKey, context, signal: controller.signal, checkpoint });
      let result: AgentResult | undefined;
      try {
        for await (const event of stream) {
          forward(sse, event);
          if (event.type === 'turn-start') runId = event.runId;
          if (event.type === 'turn-end') result = event.result;
        }
      } finally {
        // Stored, failed (stored as an error) or paused for staff: the checkpoint is no longer needed.
        if (runId) await this.runs.forget(runId).catch((error) => this.logError('clearing a finished run failed', error));
      }
      if (result?.status === 'awaiting-approval' && result.pendingApproval) {
        await this.runs.queueApproval(result, c.sessionKey, c.id);
        sse.send('approval', { message: approvalMessage(result.pendingApproval.arguments) });
      }
    } catch (error) {
      if (!sse) throw error;
      if ((error as { code?: unknown }).code === 'session-conflict') {
        // Another replica stored a turn of this conversation first; nothing of this one was kept.
        sse.send('error', { code: 'session-conflict', message: 'Another reply in this conversation was being written at the same time, so yours was not kept. Please send your message again.' });
      } else if (!controller.signal.aborted) {
        this.logError('chat turn failed', error);
        sse.send('error', { message: 'Sorry, something went wrong on our side and your message could not be answered. Please try again in a moment.' });
      }
    } finally {
      this.busy.delete(c.sessionKey);
      sse?.end();
    }
  }

  /**
   * When a photo is refused, the message's text stays in the transcript (redacted like any
   * message) with the reason it was not sent; the refusal itself then goes out as a 4xx.
   */
  private async keepRefused(c: BrowserSession, body: unknown, error: unknown): Promise<void> {
    if (!(error instanceof PhotoError) && !(error instanceof HttpError && error.code === 'invalid-image')) return;
    const raw = (body as { text?: unknown } | null)?.text;
    const text = typeof raw === 'string' ? raw.trim().slice(0, MESSAGE_LIMITS.maxTextLength) : '';
    const verdict = await redactor.check({ stage: 'input', conversation: [], content: { text, images: [] } });
    await this.options.db.addRefusedMessage(c.sessionKey, verdict.redactedText ?? text, `Not sent: ${(error as Error).message}`);
  }

  private async approvals() {
    const { db } = this.options;
    const names = new Map((await db.customers()).map((c) => [c.id, c.name]));
    return {
      approvals: (await db.approvals()).map((a) => ({
        id: a.id,
        conversationId: a.conversationId,
        customer: names.get(a.customerId) ?? a.customerId,
        tool: a.tool,
        arguments: a.arguments,
        status: a.status,
        note: a.note,
        createdAt: a.createdAt,
        decidedAt: a.decidedAt,
        runStatus: a.runStatus,
        conversation: showMessages(pausedMessages(a.state)),
      })),
      handovers: (await db.handovers()).map((h) => ({ ...h, customer: names.get(h.customerId) ?? h.customerId })),
    };
  }

  /** Staff decision: resumes the paused run with the customer's context; its reply lands in their transcript. */
  private async decide(id: string, body: unknown) {
    const { db } = this.options;
    const b = (body ?? {}) as { decision?: unknown; note?: unknown };
    if (b.decision !== 'approve' && b.decision !== 'reject') throw new HttpError(400, 'invalid-decision', 'Send {"decision": "approve" | "reject", "note"?: string}.');
    const note = typeof b.note === 'string' && b.note.trim() ? b.note.trim().slice(0, 500) : null;
    const approval = await db.approval(id);
    if (!approval) throw new HttpError(404, 'unknown-approval', `No approval ${id}.`);
    if (this.busy.has(approval.sessionId)) throw new HttpError(409, 'turn-in-progress', 'That conversation is busy; try again in a moment.');
    // Once, whichever replica the decision reaches: a second one (a double click, a replay, a
    // colleague on another replica) finds it decided.
    if (!(await db.decideApproval(id, b.decision === 'approve' ? 'approved' : 'rejected', note))) {
      const now = await db.approval(id);
      throw new HttpError(409, 'already-decided', `Approval ${id} was already ${now?.status ?? approval.status}.`);
    }
    this.busy.add(approval.sessionId);
    try {
      // The decision is final from here on: a failure below never puts it back to pending.
      const result = await this.runs.decide((await db.approval(id))!);
      return { status: result.status, text: result.text };
    } catch (error) {
      this.logError(`continuing the run of approval ${id} failed`, error);
      return {
        status: 'failed',
        text: 'The decision is recorded, but the reply to the customer failed; they were shown an apology. Nothing will be run again.',
      };
    } finally {
      this.busy.delete(approval.sessionId);
    }
  }

  /** One page of the moderation index, newest first; `next` continues with older verdicts. */
  async verdicts(params: URLSearchParams): Promise<{ verdicts: ModerationRow[]; next: string | null }> {
    const { db } = this.options;
    const limitText = params.get('limit');
    const limit = limitText === null ? DEFAULT_VERDICT_PAGE : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_VERDICT_PAGE) {
      throw new HttpError(400, 'invalid-limit', `limit must be an integer from 1 to ${MAX_VERDICT_PAGE}, got "${limitText}".`);
    }
    const before = params.get('before') ?? undefined;
    let rows;
    try {
      rows = await db.verdictPage(limit, before);
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new HttpError(400, 'invalid-cursor', error.message);
      throw error;
    }
    const names = new Map((await db.customers()).map((c) => [c.id, c.name]));
    const last = rows.at(-1);
    return {
      verdicts: rows.map((r) => ({ ...r.entry, conversationId: r.conversationId, customer: names.get(r.customerId) ?? r.customerId })),
      next: rows.length === limit && last ? last.cursor : null,
    };
  }

  /** Adds a finished (or paused) turn's verdicts to the moderation index. */
  private async indexTurn(result: AgentResult): Promise<void> {
    try {
      const conversation = await this.options.db.conversationOfKey(result.sessionId);
      if (!conversation) return;
      const verdicts = result.audit.filter((e): e is VerdictAuditEntry => e.kind === 'verdict');
      await this.options.db.indexVerdicts(conversation.id, conversation.customerId, verdicts);
    } catch (error) {
      this.logError('indexing verdicts failed', error);
    }
  }

  /** Indexes the verdicts of conversations written before the index existed (read from their audit logs once). */
  async backfillVerdicts(): Promise<number> {
    const { db, agent } = this.options;
    let n = 0;
    for (const c of await db.unindexedConversations()) {
      const entries = (await agent.auditLog(c.sessionKey)).filter((e): e is VerdictAuditEntry => e.kind === 'verdict');
      await db.indexVerdicts(c.id, c.customerId, entries);
      await db.markVerdictsIndexed(c.id);
      n += entries.length;
    }
    return n;
  }

  private logError(message: string, error: unknown): void {
    (this.options.logError ?? ((m, e) => console.error(`customer-service: ${m}:`, e)))(message, error);
  }

  private fail(res: ServerResponse, error: unknown): void {
    const known = error instanceof HttpError;
    if (!known) this.logError('request failed', error);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendJson(res, known ? error.status : 500, {
      error: known ? { code: error.code, message: error.message } : { code: 'internal', message: 'Something went wrong on our side. Please try again in a moment.' },
    });
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
