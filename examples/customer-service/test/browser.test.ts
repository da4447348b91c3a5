// End to end in headless Chromium: sign in, send a photo, watch the reply stream, get a message
// blocked, have staff approve a refund, and find the verdict on the moderation page. Takes the
// screenshots used by docs/examples.md: into a temporary directory, or into docs/screenshots/
// with LOOKOUT_SCREENSHOTS=1 (so a plain test run leaves the checkout clean).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScriptedModel, callTool, say } from '@lookout/core/testing';
import { PatternGuard } from '@lookout/guards';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAFF, startShop } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DOC_SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');
const refreshDocs = process.env.LOOKOUT_SCREENSHOTS === '1';
const hasChromium = existsSync(CHROMIUM);
// CI installs Chromium (.ci/run), so there a missing browser is a failure, not a reason to skip.
if (!hasChromium && process.env.LOOKOUT_REQUIRE_BROWSER === '1') {
  throw new Error(`${CHROMIUM} is missing but LOOKOUT_REQUIRE_BROWSER=1 asks for the browser test (apt-get install -y chromium).`);
}
if (!hasChromium) console.warn(`Skipping the browser test: ${CHROMIUM} is missing (Debian/Ubuntu: apt-get install -y chromium).`);

/** A photo of a damaged parcel, drawn for the test. */
async function parcelPhoto(file: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="220">
    <rect width="320" height="220" fill="#dfe7ef"/><rect x="60" y="50" width="200" height="130" fill="#b98a55" stroke="#6d4c2b" stroke-width="4"/>
    <rect x="150" y="50" width="20" height="130" fill="#d9c29a"/><path d="M90 70 L130 120 L105 135 L150 175" stroke="#3b2614" stroke-width="5" fill="none"/>
    <text x="185" y="120" font-size="22" font-family="sans-serif" fill="#3b2614">FRAGILE</text></svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toFile(file);
}

describe.skipIf(!hasChromium)('customer-service in a browser (needs /usr/bin/chromium)', () => {
  let browser: Browser;
  let shop: Awaited<ReturnType<typeof startShop>>;
  let photo: string;
  let screenshots: string;
  const model = new ScriptedModel({
    steps: [
      say("Thanks for the photo. I'm sorry your parcel arrived damaged, that should not happen. Which order is it? You find the number in your confirmation mail; order numbers look like A-2001.", { chunk: 4, delayMs: 15 }),
      // No step for the blocked message: the shop's PII redaction makes the loop wait for the
      // input guards, so the model is never asked.
      [callTool('open_refund_request', { orderId: 'A-2001', amount: 82, reason: 'The cast-iron pan arrived cracked' })],
      say('Good news: our staff approved your refund of 82 EUR for order A-2001. It reaches your card in 3-5 working days.', { chunk: 5, delayMs: 10 }),
    ],
  });

  beforeAll(async () => {
    shop = await startShop({
      model,
      guards: { input: [new PatternGuard({ blocklist: ['scam', 'idiot'], category: 'abuse', name: 'shop-blocklist' })] },
      banner: ['Model: ScriptedModel (end-to-end test). Guards: message limits, PII redaction, shop blocklist.'],
    });
    photo = path.join(shop.dataDir, 'parcel.jpg');
    await parcelPhoto(photo);
    screenshots = refreshDocs ? DOC_SCREENSHOTS : await mkdtemp(path.join(tmpdir(), 'lookout-shop-screenshots-'));
    await mkdir(screenshots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
    if (shop) await rm(shop.dataDir, { recursive: true, force: true });
    if (screenshots && !refreshDocs) await rm(screenshots, { recursive: true, force: true });
  });

  it('chats with a photo, streams, blocks, goes through staff approval and shows the verdict', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    // Generous waits: on a loaded 2-core machine a page poll and a resumed run can take a while.
    context.setDefaultTimeout(60_000);
    const violations: string[] = [];
    context.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    const chat = await context.newPage();
    await chat.goto(shop.url);
    await chat.check('input[value="cus_grace"]');
    await chat.click('#signin');
    await chat.waitForSelector('#composer');

    // Count DOM updates in the reply: it is released in checked pieces (a check every 24 characters
    // with rule guards; the last 48 checked characters wait for the next check).
    await chat.evaluate(() => {
      (window as any).updates = 0;
      new MutationObserver(() => (window as any).updates++).observe(document.querySelector('#messages')!, { subtree: true, childList: true, characterData: true });
    });
    await chat.fill('#text', 'My parcel arrived damaged, see the photo.');
    await chat.setInputFiles('#photos', photo);
    await chat.click('#send');
    await chat.waitForSelector('.msg.bot:has-text("A-2001.")');
    expect(await chat.locator('.msg.customer img').count()).toBe(1);
    expect(await chat.evaluate(() => (window as any).updates)).toBeGreaterThan(4);
    expect(model.requests[0]!.messages!.at(-1)).toMatchObject({ role: 'user', content: [{ type: 'text' }, { type: 'image' }] });

    await chat.fill('#text', 'This shop is a scam');
    await chat.click('#send');
    const blocked = chat.locator('.msg.bot.blocked');
    await blocked.waitFor();
    expect(await blocked.textContent()).toContain("Sorry, I can't help with that message");
    expect(model.requests).toHaveLength(1);

    await chat.fill('#text', 'Please refund order A-2001, the pan is cracked.');
    await chat.click('#send');
    await chat.waitForSelector('.msg.notice:has-text("needs a quick check by our staff")');

    // The staff page asks a member of staff to sign in first.
    const staff = await context.newPage();
    await staff.goto(new URL('/staff', shop.url).href);
    await staff.waitForSelector('#staff-signin');
    expect(new URL(staff.url()).pathname).toBe('/staff/signin');
    await staff.fill('#username', STAFF.user);
    await staff.fill('#password', STAFF.password);
    await staff.click('#staff-signin');
    await staff.waitForSelector('.approval');
    expect(await staff.locator('.approval').textContent()).toContain('"amount":82');
    await staff.screenshot({ path: path.join(screenshots, 'staff.png'), fullPage: true });
    await staff.click('.approval button.ok');
    await staff.waitForSelector('#result:has-text("Run resumed (completed)")');

    // The chat page polls while the refund waits, and shows the resumed run's reply.
    await chat.waitForSelector('.msg.bot:has-text("Good news")');
    // The refreshed transcript still shows the withheld message and its refusal, never the text.
    expect(await chat.locator('.msg.bot.blocked').count()).toBe(1);
    expect(await chat.locator('#messages').textContent()).not.toContain('scam');
    expect(await shop.db.refundRequestsOf('cus_grace')).toMatchObject([{ orderId: 'A-2001', amount: 82, status: 'approved' }]);
    await chat.screenshot({ path: path.join(screenshots, 'chat.png'), fullPage: true });

    const moderation = await context.newPage();
    await moderation.goto(new URL('/moderation', shop.url).href);
    const row = moderation.locator('tr.verdict[data-guard="shop-blocklist"]:has-text("unsafe")');
    await row.waitFor();
    const text = await row.textContent();
    expect(text).toContain('input');
    expect(text).toContain('abuse');
    expect(text).toContain('Grace Hopper');
    await moderation.screenshot({ path: path.join(screenshots, 'moderation.png'), fullPage: true });
    for (const name of ['staff.png', 'chat.png', 'moderation.png']) expect(existsSync(path.join(screenshots, name))).toBe(true);
    // Nothing on the pages was refused by the Content-Security-Policy (no inline script or style).
    expect(violations).toEqual([]);
    await context.close();
  });
});
