// The page shell shared by every page: header, model banner, the style sheet. Plain HTML, no
// build step; scripts and styles are files under /assets/ (no inline script or style, see the
// Content-Security-Policy in ../security.ts).

export interface PageInfo {
  banner: string[];
  /** Shows the banner as a warning (replies are not from a real model). */
  warn: boolean;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A script served from /assets/. */
export const script = (name: string) => `<script src="/assets/${name}" defer></script>`;

export function layout(page: PageInfo, title: string, body: string, nav = ''): string {
  const banner = page.banner.length ? `<div class="banner${page.warn ? ' warn' : ''}" id="banner">${escapeHtml(page.banner.join('\n'))}</div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Lookout Home</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><header><h1>Lookout Home · ${escapeHtml(title)}</h1><nav><a href="/">Chat</a><a href="/staff">Staff</a><a href="/moderation">Moderation</a>${nav}</nav></header>
<main>${banner}${body}</main></body></html>`;
}

/** The header's sign-out button for a signed-in member of staff. */
export function staffNav(username: string): string {
  return `<span>${escapeHtml(username)}</span><form method="post" action="/staff/signout"><button type="submit" id="staff-signout">Sign out</button></form>`;
}
