// Staff sign-in: user name and password (see "Deploying the bot" in docs/examples.md).
import { escapeHtml, layout, type PageInfo } from './layout.js';

/** Only the bot's own staff pages are accepted as where to go after signing in. */
export function staffNext(next: string | null | undefined): string {
  return next === '/moderation' ? '/moderation' : '/staff';
}

export function staffSignInPage(page: PageInfo, next: string, error?: string): string {
  return layout(
    page,
    'Staff sign-in',
    `<div class="card signin"><h2 class="first">Staff sign-in</h2>
<p class="muted">Refund approvals and the moderation log are for the shop's staff.</p>
${error ? `<p class="error" id="signin-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/staff/signin"><input type="hidden" name="next" value="${escapeHtml(staffNext(next))}">
<label>User name <input type="text" name="username" id="username" autocomplete="username" required></label>
<label>Password <input type="password" name="password" id="password" autocomplete="current-password" required></label>
<p><button class="primary" type="submit" id="staff-signin">Sign in</button></p></form></div>`,
  );
}
