// The customer's chat page: history, a message box with photo upload, replies streamed in over
// fetch (server-sent events in the response body). The script is /assets/chat.js.
import type { Customer } from '../store/types.js';
import { escapeHtml, layout, script, type PageInfo } from './layout.js';

export function chatPage(page: PageInfo, customer: Customer): string {
  const nav = `<span>${escapeHtml(customer.name)}</span><form method="post" action="/signout"><button type="submit">Sign out</button></form>`;
  return layout(
    page,
    'Support chat',
    `<div class="card"><div id="messages" aria-live="polite"></div>
<form id="composer"><textarea id="text" placeholder="Ask about an order (e.g. A-1001), a refund or a delivery. Attach a photo of a damaged parcel or a receipt."></textarea>
<div><input type="file" id="photos" accept="image/png,image/jpeg,image/webp,image/gif" multiple><div id="previews"></div></div>
<button class="primary" id="send" type="submit">Send</button></form></div>
<p class="muted">Signed in as ${escapeHtml(customer.name)}. Messages are checked by guards before the bot sees them; personal data such as card numbers is redacted from the transcript.</p>
${script('chat.js')}`,
    nav,
  );
}
