// The page shell shared by every page: header, model banner, styles. Plain HTML, no build step.

export interface PageInfo {
  banner: string[];
  /** Shows the banner as a warning (replies are not from a real model). */
  warn: boolean;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
*{box-sizing:border-box} body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330}
header{display:flex;align-items:center;gap:18px;padding:10px 20px;background:#1f3a5f;color:#fff}
header h1{font-size:17px;margin:0;font-weight:600} header nav{display:flex;gap:14px;margin-left:auto;align-items:center}
header a{color:#cfe0ff;text-decoration:none} header a:hover{text-decoration:underline}
header form{margin:0} header button{background:none;border:1px solid #cfe0ff;color:#cfe0ff;border-radius:4px;padding:2px 8px;cursor:pointer}
main{max-width:980px;margin:18px auto;padding:0 16px}
.banner{font:12.5px/1.45 ui-monospace,Menlo,monospace;white-space:pre-wrap;background:#eef3fb;border:1px solid #c8d6ec;border-radius:6px;padding:8px 12px;margin-bottom:14px}
.banner.warn{background:#fff6da;border-color:#e8cf7a}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 16px;margin-bottom:14px}
table{border-collapse:collapse;width:100%;font-size:13.5px} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e9ef;vertical-align:top}
th{background:#f0f2f6;font-weight:600} .unsafe{color:#b3261e;font-weight:600} .safe{color:#1e7b34}
.muted{color:#667085;font-size:13px} button.primary{background:#1f5fbf;color:#fff;border:0;border-radius:6px;padding:8px 16px;font-size:15px;cursor:pointer}
button.primary:disabled{background:#9bb3d8;cursor:default} button.danger{background:#b3261e;color:#fff;border:0;border-radius:6px;padding:6px 12px;cursor:pointer}
button.ok{background:#1e7b34;color:#fff;border:0;border-radius:6px;padding:6px 12px;cursor:pointer}
`;

export function layout(page: PageInfo, title: string, body: string, nav = ''): string {
  const banner = page.banner.length ? `<div class="banner${page.warn ? ' warn' : ''}" id="banner">${escapeHtml(page.banner.join('\n'))}</div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Lookout Home</title><style>${STYLE}</style></head>
<body><header><h1>Lookout Home · ${escapeHtml(title)}</h1><nav><a href="/">Chat</a><a href="/staff">Staff</a><a href="/moderation">Moderation</a>${nav}</nav></header>
<main>${banner}${body}</main></body></html>`;
}
