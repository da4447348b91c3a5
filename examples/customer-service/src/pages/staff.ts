// Staff page: refunds waiting for approval (approve/reject resumes the customer's paused run)
// and conversations handed over to a human.
import { layout, type PageInfo } from './layout.js';

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const esc = (t) => String(t ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

async function decide(id, decision) {
  const note = document.getElementById('note-' + id).value;
  const res = await fetch('/api/approvals/' + id, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision, note }) });
  const body = await res.json();
  $('#result').textContent = res.ok ? 'Run resumed (' + body.status + '). The customer now sees: ' + body.text : body.error.message;
  load();
}

function convo(messages) {
  return messages.filter((m) => m.role !== 'tool').map((m) => '<div class="muted"><b>' + (m.role === 'customer' ? 'Customer' : 'Bot') + ':</b> ' + esc(m.text) + (m.images.length ? ' [' + m.images.length + ' photo(s)]' : '') + '</div>').join('');
}

async function load() {
  const data = await (await fetch('/api/approvals')).json();
  const pending = data.approvals.filter((a) => a.status === 'pending');
  $('#pending').innerHTML = pending.length ? pending.map((a) =>
    '<div class="card approval" data-id="' + a.id + '"><b>' + esc(a.customer) + '</b> · ' + esc(a.tool) + ' <code>' + esc(JSON.stringify(a.arguments)) + '</code>' +
    '<div style="margin:8px 0">' + convo(a.conversation) + '</div>' +
    '<input id="note-' + a.id + '" placeholder="note to the customer (optional)" style="width:50%;padding:5px"> ' +
    '<button class="ok" onclick="decide(\\'' + a.id + '\\', \\'approve\\')">Approve</button> ' +
    '<button class="danger" onclick="decide(\\'' + a.id + '\\', \\'reject\\')">Reject</button></div>').join('') : '<p class="muted">Nothing waiting.</p>';
  const decided = data.approvals.filter((a) => a.status !== 'pending');
  $('#decided').innerHTML = decided.length ? '<table><tr><th>Decided</th><th>Customer</th><th>Request</th><th>Decision</th><th>Note</th></tr>' + decided.map((a) =>
    '<tr><td>' + esc(a.decidedAt && a.decidedAt.slice(0, 19).replace('T', ' ')) + '</td><td>' + esc(a.customer) + '</td><td><code>' + esc(JSON.stringify(a.arguments)) + '</code></td><td>' + esc(a.status) + '</td><td>' + esc(a.note) + '</td></tr>').join('') + '</table>' : '<p class="muted">None yet.</p>';
  $('#handovers').innerHTML = data.handovers.length ? '<table><tr><th>Ticket</th><th>Time</th><th>Customer</th><th>Summary</th></tr>' + data.handovers.map((h) =>
    '<tr><td>#' + h.id + '</td><td>' + esc(h.createdAt.slice(0, 19).replace('T', ' ')) + '</td><td>' + esc(h.customer) + '</td><td>' + esc(h.summary) + '</td></tr>').join('') + '</table>' : '<p class="muted">None.</p>';
}
load();
setInterval(load, 3000);
`;

export function staffPage(page: PageInfo): string {
  return layout(
    page,
    'Staff',
    `<h2>Refunds waiting for approval</h2><p class="muted">The bot's run is paused on these tool calls; your decision resumes it and the customer sees the reply in their chat.</p>
<div id="pending"></div><p id="result" class="muted"></p>
<h2>Decided</h2><div class="card" id="decided"></div>
<h2>Handed over to a human</h2><div class="card" id="handovers"></div>
<script>${SCRIPT}</script>`,
  );
}
