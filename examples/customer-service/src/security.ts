// Request checks every route shares: the Host header against an allow-list (DNS rebinding), the
// Origin of state-changing requests (cross-site request forgery) and the security headers of
// every response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http.js';

/**
 * What the pages need and nothing more: scripts and styles from this server only (no inline
 * script or style), photos previewed as data:/blob: URLs, fetch to this server, forms posting
 * to it, and no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Set on every response. Pages get Referrer-Policy same-origin, everything else no-referrer:
 * under no-referrer a browser sends `Origin: null` with the page's own form posts, which the
 * origin check below must refuse; same-origin still sends nothing to other sites.
 */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

export const PAGE_REFERRER_POLICY = { 'referrer-policy': 'same-origin' };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

/** Host names as they appear in a Host header: lower case, IPv6 in brackets. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/**
 * The Host values accepted when none are configured: the bound host and port, plus localhost,
 * 127.0.0.1 and [::1] when bound to loopback or to every interface (then set --allowed-hosts
 * for the name the bot is reached by).
 */
export function defaultAllowedHosts(host: string, port: number): string[] {
  const bound = hostName(host);
  const names = new Set<string>();
  if (!WILDCARD.has(bound)) names.add(bound);
  if (LOOPBACK.has(bound) || WILDCARD.has(bound)) for (const n of ['localhost', '127.0.0.1', '[::1]']) names.add(n);
  return [...names].map((n) => `${n}:${port}`);
}

/** Parses a Host header (or an origin's host) into name and port; undefined when malformed. */
function splitHost(value: string): { name: string; port?: string } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  return m ? { name: m[1]!.toLowerCase(), port: m[2] } : undefined;
}

/**
 * Host allow-list. An entry "name:port" matches exactly that; an entry "name" matches the name
 * on any port (behind a reverse proxy the Host usually carries no port).
 */
export class HostAllowList {
  private readonly entries: Array<{ name: string; port?: string }>;

  constructor(readonly hosts: string[]) {
    this.entries = hosts.map((h) => {
      const trimmed = h.trim().toLowerCase();
      // A bare IPv6 address has several colons; "name:port" has one.
      const parsed = splitHost((trimmed.match(/:/g) ?? []).length > 1 && !trimmed.startsWith('[') ? `[${trimmed}]` : trimmed);
      if (!parsed) throw new Error(`allowed host "${h}" is not a host name or address, optionally with :port`);
      return parsed;
    });
  }

  allows(host: string | undefined): boolean {
    if (!host) return false;
    const parsed = splitHost(host);
    if (!parsed) return false;
    return this.entries.some((e) => e.name === parsed.name && (e.port === undefined || e.port === parsed.port));
  }

  /** Refuses a request whose Host is not listed (a page reached through another name, DNS rebinding). */
  check(req: IncomingMessage): void {
    if (!this.allows(req.headers.host)) {
      throw new HttpError(403, 'host-not-allowed', `This server does not answer for host "${req.headers.host ?? ''}". Reach it by one of its configured names (--allowed-hosts).`);
    }
  }

  /**
   * Refuses a state-changing request that does not come from one of the bot's own pages: its
   * Origin (or, when a browser sends none, its Referer) must be http(s) on an allowed host.
   * A missing or "null" origin is refused too.
   */
  checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const source = origin !== undefined ? origin : req.headers.referer;
    let url: URL | undefined;
    try {
      url = source && source !== 'null' ? new URL(source) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !this.allows(url.host || undefined)) {
      throw new HttpError(
        403,
        'cross-origin-request',
        `This request must come from the bot's own pages: its Origin header (${source === undefined ? 'none sent' : JSON.stringify(source)}) is not one of the allowed hosts.`,
      );
    }
  }
}
