// Moderation page: every guard verdict from the audit log, with stage, categories, score and latency.
import { layout, type PageInfo } from './layout.js';

const SCRIPT = `
const esc = (t) => String(t ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
async function load() {
  const { verdicts } = await (await fetch('/api/verdicts')).json();
  const onlyUnsafe = document.getElementById('unsafe').checked;
  const rows = verdicts.filter((v) => !onlyUnsafe || !v.safe || v.categories.length);
  document.getElementById('count').textContent = verdicts.length + ' verdicts, ' + verdicts.filter((v) => !v.safe).length + ' unsafe';
  document.getElementById('rows').innerHTML = rows.map((v) =>
    '<tr class="verdict" data-stage="' + esc(v.stage) + '" data-guard="' + esc(v.guard) + '"><td>' + esc(v.time.slice(0, 19).replace('T', ' ')) + '</td><td>' + esc(v.customer) + '</td><td>' + esc(v.stage) + '</td><td>' + esc(v.guard) + '</td>' +
    '<td class="' + (v.safe ? 'safe' : 'unsafe') + '">' + (v.safe ? 'safe' : 'unsafe') + (v.failure ? ' (' + esc(v.failure) + ')' : '') + '</td>' +
    '<td>' + esc(v.categories.join(', ')) + '</td><td>' + (v.score === undefined ? '' : v.score.toFixed(3)) + '</td><td>' + v.latencyMs.toFixed(1) + ' ms</td><td>' + esc(v.action) + '</td></tr>').join('');
}
document.getElementById('unsafe').addEventListener('change', load);
load();
setInterval(load, 3000);
`;

export function moderationPage(page: PageInfo): string {
  return layout(
    page,
    'Moderation',
    `<div class="card"><label><input type="checkbox" id="unsafe"> only flagged (unsafe or redacted)</label> <span class="muted" id="count"></span>
<table><thead><tr><th>Time (UTC)</th><th>Customer</th><th>Stage</th><th>Guard</th><th>Verdict</th><th>Categories</th><th>Score</th><th>Latency</th><th>Action</th></tr></thead>
<tbody id="rows"></tbody></table></div>
<script>${SCRIPT}</script>`,
  );
}
