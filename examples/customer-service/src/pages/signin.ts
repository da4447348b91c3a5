// Demo sign-in: pick one of the seeded customers; the browser session (cookie) becomes theirs.
import type { Customer } from '../store/types.js';
import { escapeHtml, layout, type PageInfo } from './layout.js';

export function signInPage(page: PageInfo, customers: Customer[]): string {
  const options = customers
    .map((c) => `<label class="pick"><input type="radio" name="customer" value="${escapeHtml(c.id)}" required> ${escapeHtml(c.name)} <span class="muted">(${escapeHtml(c.email)})</span></label>`)
    .join('');
  return layout(
    page,
    'Sign in',
    `<div class="card"><h2 class="first">Demo sign-in</h2>
<p class="muted">Each browser session is one customer. The bot's tools only ever see this customer's orders.</p>
<form method="post" action="/signin">${options}<p><button class="primary" type="submit" id="signin">Sign in</button></p></form></div>`,
  );
}
