// Moderation page: guard verdicts from the moderation index, newest first, a page at a time,
// with stage, categories, score and latency. Needs a staff sign-in; the script is /assets/moderation.js.
import { layout, script, staffNav, type PageInfo } from './layout.js';

export function moderationPage(page: PageInfo, username: string): string {
  return layout(
    page,
    'Moderation',
    `<div class="card"><label><input type="checkbox" id="unsafe"> only flagged (unsafe or redacted)</label> <span class="muted" id="count"></span>
<table><thead><tr><th>Time (UTC)</th><th>Customer</th><th>Stage</th><th>Guard</th><th>Verdict</th><th>Categories</th><th>Score</th><th>Latency</th><th>Action</th></tr></thead>
<tbody id="rows"></tbody></table><p><button type="button" id="older" hidden>Older verdicts</button></p></div>
${script('moderation.js')}`,
    staffNav(username),
  );
}
