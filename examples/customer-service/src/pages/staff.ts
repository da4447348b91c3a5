// Staff page: refunds waiting for approval (approve/reject resumes the customer's paused run)
// and conversations handed over to a human. Needs a staff sign-in; the script is /assets/staff.js.
import { layout, script, staffNav, type PageInfo } from './layout.js';

export function staffPage(page: PageInfo, username: string): string {
  return layout(
    page,
    'Staff',
    `<h2>Refunds waiting for approval</h2><p class="muted">The bot's run is paused on these tool calls; your decision resumes it and the customer sees the reply in their chat.</p>
<div id="pending"></div><p id="result" class="muted"></p>
<h2>Decided</h2><div class="card" id="decided"></div>
<h2>Handed over to a human</h2><div class="card" id="handovers"></div>
${script('staff.js')}`,
    staffNav(username),
  );
}
