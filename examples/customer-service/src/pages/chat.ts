// The customer's chat page: history, a message box with photo upload, replies streamed in over
// fetch (server-sent events in the response body).
import type { Customer } from '../db.js';
import { escapeHtml, layout, type PageInfo } from './layout.js';

const STYLE = `
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
`;

const SCRIPT = `
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
  for (const m of history.messages) add(m.role, m.text, m.images, m.blocked);
  if (history.pendingApproval) {
    add('notice', 'Waiting for a member of staff to approve the refund ...');
    if (!pollTimer) pollTimer = setInterval(refresh, 2000);
  } else if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
}

async function refresh() {
  const res = await fetch('/api/history');
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

export function chatPage(page: PageInfo, customer: Customer): string {
  const nav = `<span>${escapeHtml(customer.name)}</span><form method="post" action="/signout"><button type="submit">Sign out</button></form>`;
  return layout(
    page,
    'Support chat',
    `<style>${STYLE}</style>
<div class="card"><div id="messages" aria-live="polite"></div>
<form id="composer"><textarea id="text" placeholder="Ask about an order (e.g. A-1001), a refund or a delivery. Attach a photo of a damaged parcel or a receipt."></textarea>
<div><input type="file" id="photos" accept="image/png,image/jpeg,image/webp,image/gif" multiple><div id="previews"></div></div>
<button class="primary" id="send" type="submit">Send</button></form></div>
<p class="muted">Signed in as ${escapeHtml(customer.name)}. Messages are checked by guards before the bot sees them; personal data such as card numbers is redacted from the transcript.</p>
<script>${SCRIPT}</script>`,
    nav,
  );
}
