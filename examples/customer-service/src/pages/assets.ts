// The pages' style sheet and scripts, served as files (GET /assets/...) so the Content Security
// Policy can forbid inline script and style.

export const STYLE_CSS = `
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

#messages{display:flex;flex-direction:column;gap:10px;min-height:320px;max-height:70vh;overflow-y:auto;padding:4px}
.msg{max-width:78%;padding:9px 13px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word}
.msg.customer{align-self:flex-end;background:#1f5fbf;color:#fff;border-bottom-right-radius:4px}
.msg.bot{align-self:flex-start;background:#fff;border:1px solid #dde1e8;border-bottom-left-radius:4px}
.msg.customer.blocked{background:#9aa7ba;font-style:italic}
.msg.bot.blocked{background:#fdecea;border-color:#f1b8b3;color:#7a1c16}
.msg.tool,.msg.notice{align-self:center;background:none;color:#667085;font-size:12.5px;padding:2px}
.msg.notice{color:#8a5a00} .msg img{display:block;max-width:220px;max-height:160px;border-radius:8px;margin-top:6px}
#composer{display:flex;gap:10px;align-items:flex-end;margin-top:12px} #text{flex:1;min-height:56px;padding:8px;font:inherit;border:1px solid #c5ccd8;border-radius:8px;resize:vertical}
#previews img{height:48px;margin-right:6px;border-radius:4px;border:1px solid #ccd}

.pick{display:block;margin:6px 0} h2.first{margin-top:0} .convo{margin:8px 0} input.note{width:50%;padding:5px}
.signin label{display:block;margin:8px 0} .signin input[type=text],.signin input[type=password]{padding:6px;width:260px;font:inherit}
.error{color:#b3261e} .msg.customer.refused{background:#9aa7ba}
`;

/** The chat page: history, a message box with photo upload, replies streamed in over fetch. */
export const CHAT_JS = `
const $ = (s) => document.querySelector(s);
const list = $('#messages');
let pollTimer = null;

function add(role, text, images, blocked) {
  const div = document.createElement('div');
  div.className = 'msg ' + role + (blocked ? ' blocked' : '');
  div.textContent = text || '';
  for (const src of images || []) { const img = document.createElement('img'); img.src = src; img.alt = 'photo'; div.appendChild(img); }
  list.appendChild(div);
  list.scrollTop = list.scrollHeight;
  return div;
}

function render(history) {
  list.textContent = '';
  for (const m of history.messages) add(m.role, m.text, m.images, m.blocked || m.refused);
  if (history.pendingApproval) {
    add('notice', history.pendingApproval.decided ? 'A member of staff has decided; the reply is on its way ...' : 'Waiting for a member of staff to approve the refund ...');
    if (!pollTimer) pollTimer = setInterval(refresh, 2000);
  } else if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
}

async function refresh() {
  const res = await fetch('/api/history');
  if (res.status === 401) { location.href = '/'; return; }
  if (res.ok) render(await res.json());
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => { const r = new FileReader(); r.onload = () => resolve(r.result); r.onerror = reject; r.readAsDataURL(file); });
}

$('#photos').addEventListener('change', async () => {
  const box = $('#previews'); box.textContent = '';
  for (const f of $('#photos').files) { const img = document.createElement('img'); img.src = await readAsDataUrl(f); box.appendChild(img); }
});

async function send(event) {
  event.preventDefault();
  const text = $('#text').value.trim();
  const images = await Promise.all([...$('#photos').files].map(readAsDataUrl));
  if (!text && images.length === 0) return;
  $('#send').disabled = true;
  const mine = add('customer', text, images);
  $('#text').value = ''; $('#photos').value = ''; $('#previews').textContent = '';
  let bot = null;
  const botBubble = () => bot || (bot = add('bot', ''));
  try {
    const res = await fetch('/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, images }) });
    if (!res.ok) { const e = await res.json().catch(() => ({})); add('notice', (e.error && e.error.message) || ('Error ' + res.status)); return; }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\\n\\n')) >= 0) {
        const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const name = (block.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((block.match(/^data: (.*)$/m) || [, 'null'])[1]);
        if (name === 'delta') { botBubble().textContent += data.text; list.scrollTop = list.scrollHeight; }
        else if (name === 'redacted') { mine.firstChild && mine.firstChild.nodeType === 3 ? (mine.firstChild.nodeValue = data.text) : mine.prepend(data.text); }
        else if (name === 'tool') { add('tool', data.label); bot = null; }
        else if (name === 'blocked') { const b = botBubble(); b.textContent = data.text; b.classList.add('blocked'); b.dataset.stage = data.stage; }
        else if (name === 'approval') { add('notice', data.message); if (!pollTimer) pollTimer = setInterval(refresh, 2000); }
        else if (name === 'error') add('notice', data.message);
      }
    }
  } catch (e) {
    add('notice', 'Connection lost: ' + e.message);
  } finally {
    $('#send').disabled = false;
  }
}

$('#composer').addEventListener('submit', send);
$('#text').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('#composer').requestSubmit(); } });
refresh();
`;

/** The staff page: refunds waiting for approval (approve/reject resumes the run) and hand-overs. */
export const STAFF_JS = `
const $ = (s) => document.querySelector(s);
const esc = (t) => String(t ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

async function decide(id, decision) {
  const note = document.getElementById('note-' + id).value;
  const res = await fetch('/api/approvals/' + encodeURIComponent(id), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision, note }) });
  const body = await res.json();
  $('#result').textContent = !res.ok ? body.error.message : body.status === 'failed' ? body.text : 'Run resumed (' + body.status + '). The customer now sees: ' + body.text;
  load();
}

function convo(messages) {
  return messages.filter((m) => m.role !== 'tool').map((m) => '<div class="muted"><b>' + (m.role === 'customer' ? 'Customer' : 'Bot') + ':</b> ' + esc(m.text) + (m.images.length ? ' [' + m.images.length + ' photo(s)]' : '') + '</div>').join('');
}

async function load() {
  const res = await fetch('/api/approvals');
  if (res.status === 401) { location.href = '/staff/signin?next=/staff'; return; }
  const data = await res.json();
  const pending = data.approvals.filter((a) => a.status === 'pending');
  $('#pending').innerHTML = pending.length ? pending.map((a) =>
    '<div class="card approval" data-id="' + esc(a.id) + '"><b>' + esc(a.customer) + '</b> · ' + esc(a.tool) + ' <code>' + esc(JSON.stringify(a.arguments)) + '</code>' +
    '<div class="convo">' + convo(a.conversation) + '</div>' +
    '<input id="note-' + esc(a.id) + '" class="note" placeholder="note to the customer (optional)"> ' +
    '<button class="ok" data-decision="approve" data-id="' + esc(a.id) + '">Approve</button> ' +
    '<button class="danger" data-decision="reject" data-id="' + esc(a.id) + '">Reject</button></div>').join('') : '<p class="muted">Nothing waiting.</p>';
  const decided = data.approvals.filter((a) => a.status !== 'pending');
  $('#decided').innerHTML = decided.length ? '<table><tr><th>Decided</th><th>Customer</th><th>Request</th><th>Decision</th><th>Note</th></tr>' + decided.map((a) =>
    '<tr><td>' + esc(a.decidedAt && a.decidedAt.slice(0, 19).replace('T', ' ')) + '</td><td>' + esc(a.customer) + '</td><td><code>' + esc(JSON.stringify(a.arguments)) + '</code></td><td>' + esc(a.status + (a.runStatus === 'failed' ? ' (reply failed)' : a.runStatus === 'running' ? ' (running)' : '')) + '</td><td>' + esc(a.note) + '</td></tr>').join('') + '</table>' : '<p class="muted">None yet.</p>';
  $('#handovers').innerHTML = data.handovers.length ? '<table><tr><th>Ticket</th><th>Time</th><th>Customer</th><th>Summary</th></tr>' + data.handovers.map((h) =>
    '<tr><td>#' + h.id + '</td><td>' + esc(h.createdAt.slice(0, 19).replace('T', ' ')) + '</td><td>' + esc(h.customer) + '</td><td>' + esc(h.summary) + '</td></tr>').join('') + '</table>' : '<p class="muted">None.</p>';
}
$('#pending').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-decision]');
  if (button) decide(button.dataset.id, button.dataset.decision);
});
load();
setInterval(load, 3000);
`;

/** The moderation page: guard verdicts from the index, newest first, a page at a time. */
export const MODERATION_JS = `
const esc = (t) => String(t ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// The newest page is polled; older pages are added below it on request.
let newest = [];
let older = [];
let next = null;

async function page(before) {
  const res = await fetch('/api/verdicts?limit=100' + (before ? '&before=' + encodeURIComponent(before) : ''));
  if (res.status === 401) { location.href = '/staff/signin?next=/moderation'; return null; }
  return res.json();
}

function row(v) {
  return '<tr class="verdict" data-stage="' + esc(v.stage) + '" data-guard="' + esc(v.guard) + '"><td>' + esc(v.time.slice(0, 19).replace('T', ' ')) + '</td><td>' + esc(v.customer) + '</td><td>' + esc(v.stage) + '</td><td>' + esc(v.guard) + '</td>' +
    '<td class="' + (v.safe ? 'safe' : 'unsafe') + '">' + (v.safe ? 'safe' : 'unsafe') + (v.failure ? ' (' + esc(v.failure) + ')' : '') + '</td>' +
    '<td>' + esc(v.categories.join(', ')) + '</td><td>' + (v.score === undefined ? '' : Number(v.score).toFixed(3)) + '</td><td>' + Number(v.latencyMs).toFixed(1) + ' ms</td><td>' + esc(v.action) + '</td></tr>';
}

function render() {
  const verdicts = newest.concat(older);
  const onlyUnsafe = document.getElementById('unsafe').checked;
  const rows = verdicts.filter((v) => !onlyUnsafe || !v.safe || v.categories.length);
  document.getElementById('count').textContent = verdicts.length + ' verdicts shown, ' + verdicts.filter((v) => !v.safe).length + ' unsafe';
  document.getElementById('rows').innerHTML = rows.map(row).join('');
  document.getElementById('older').hidden = !next;
}

async function load() {
  const data = await page(null);
  if (!data) return;
  newest = data.verdicts;
  if (older.length === 0) next = data.next;
  render();
}

document.getElementById('older').addEventListener('click', async () => {
  if (!next) return;
  const data = await page(next);
  if (!data) return;
  older = older.concat(data.verdicts);
  next = data.next;
  render();
});
document.getElementById('unsafe').addEventListener('change', render);
load();
setInterval(load, 3000);
`;

export const ASSETS: Record<string, { body: string; type: string }> = {
  '/assets/style.css': { body: STYLE_CSS, type: 'text/css; charset=utf-8' },
  '/assets/chat.js': { body: CHAT_JS, type: 'text/javascript; charset=utf-8' },
  '/assets/staff.js': { body: STAFF_JS, type: 'text/javascript; charset=utf-8' },
  '/assets/moderation.js': { body: MODERATION_JS, type: 'text/javascript; charset=utf-8' },
};
