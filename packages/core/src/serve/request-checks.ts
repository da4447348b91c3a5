import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ServeError } from './errors.js';

/** Host names a loopback server always accepts. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms: addresses only this machine reaches. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  return a === '::1' || a === 'localhost' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(a);
}

/** "Example.COM.", "[::1]:8000", "localhost:80" → "example.com", "[::1]", "localhost". */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) h = h.slice(0, h.indexOf(']') + 1);
  else if (isIP(h) !== 6) h = h.replace(/:\d*$/, '');
  else h = `[${h}]`;
  return h.replace(/\.$/, '');
}

/**
 * The Host header names a server may be reached by, or undefined for any. A server listening on
 * loopback accepts only loopback names, the name it was told to listen on and `extra`, so a web
 * page on a domain that resolves to 127.0.0.1 (DNS rebinding) is refused. On any other address
 * every host is accepted unless `extra` lists names. "*" in `extra` accepts any host.
 */
export function resolveAllowedHosts(boundAddress: string, listenHost: string, extra: readonly string[] = []): Set<string> | undefined {
  if (extra.some((h) => h.trim() === '*')) return undefined;
  if (!isLoopbackAddress(boundAddress) && extra.length === 0) return undefined;
  const names = new Set<string>(LOOPBACK_HOSTS);
  for (const h of [boundAddress, listenHost, ...extra]) if (h.trim()) names.add(normaliseHost(isIP(h) === 6 ? `[${h}]` : h));
  return names;
}

/** Refuses (403) a request whose Host header is not among `allowed`. */
export function checkHost(req: IncomingMessage, allowed: Set<string> | undefined): void {
  if (!allowed) return;
  const header = req.headers.host;
  // Browsers always send Host; a request without one cannot come from a rebound web page.
  if (header === undefined) return;
  const host = normaliseHost(header);
  if (allowed.has(host)) return;
  for (const name of allowed) if (name.startsWith('.') && (host.endsWith(name) || host === name.slice(1))) return;
  throw new ServeError(
    403,
    'host_not_allowed',
    `Host "${header}" is not allowed for this server; it answers to ${[...allowed].join(', ')}. Add the name with --allowed-hosts (allowedHosts).`,
    { connection: 'close' },
  );
}

/** application/json, with or without parameters (charset=utf-8). */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  return value.split(';')[0].trim().toLowerCase() === 'application/json';
}
