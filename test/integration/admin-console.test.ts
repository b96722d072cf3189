import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../src/policy/dates.js';
import { createToken } from '../../src/store/tokens.js';
import { startAdminHarness, type AdminHarness } from '../helpers/admin.js';
import { chromiumArgs, chromiumPath, hasChromium } from '../helpers/chromium.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { createWorld, type World } from '../helpers/world.js';

const D = '2019-09-30';
const token = 'console-token-for-tests-42';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const screenshotDir = process.env.CONSOLE_SCREENSHOT_DIR;
if (screenshotDir) mkdirSync(screenshotDir, { recursive: true });

if (!hasChromium) console.warn(`admin-console.test.ts: skipped: ${chromiumPath} is absent (apt-get install -y chromium)`);

async function screenshot(page: Page, name: string): Promise<void> {
  if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** axe-core's violations on the page as it is now, one line each (rule, impact, first target). */
async function findViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ content: axeSource });
  const result = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

/** How far the page is wider than the window: 0 means no horizontal scrolling. */
const overflow = (page: Page) => page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;

describe.skipIf(!hasChromium)(hasChromium ? 'the web console in chromium' : `the web console: skipped, ${chromiumPath} is absent (apt-get install -y chromium)`, () => {
  let redis: TestRedis;
  let smtp: SmtpTestServer;
  let world: World;
  let admin: AdminHarness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [redis, smtp] = await Promise.all([startTestRedis(), startSmtpServer()]);
    // One attempt a job: a refused delivery fails for good at once, for the job board to retry.
    world = await createWorld({ REDIS_URL: redis.url, SMTP_URL: smtp.url, ADMIN_TOKEN: token, JOB_ATTEMPTS: '1' }, D);
    await world.import(
      [
        { id: 'C-today', anniversaryOn: addDays(D, 4) },
        { id: 'C-soon', anniversaryOn: addDays(D, 20), autoRenew: true, token: 'tok_visa' },
        { id: 'C-nobody', anniversaryOn: addDays(D, 6), partnerId: 'P-none' },
        { id: 'R-open', anniversaryOn: addDays(D, -5), token: 'tok_visa' },
        { id: 'R-early', anniversaryOn: addDays(D, 200), token: 'tok_visa' },
        { id: 'Z-competency', anniversaryOn: addDays(D, 60), offer: 'competency' },
      ],
      [{ id: 'P-1' }, { id: 'P-none', contacts: 0 }],
    );
    admin = await startAdminHarness(world, token);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    // axe-core is injected as an inline script: the console's own policy would refuse it.
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await world?.close();
    await Promise.all([redis?.stop(), smtp?.stop()]);
  });

  it('signs in with a token for an HttpOnly session cookie, by keyboard; a wrong token is refused with the reason', async () => {
    await page.goto(`${admin.baseUrl}/`);
    expect(await page.getAttribute('link[rel=icon]', 'href')).toBe('/console/favicon.svg');
    expect((await fetch(`${admin.baseUrl}/console/favicon.svg`)).status).toBe(200);
    await page.fill('#token', 'not-the-token');
    await page.press('#token', 'Enter');
    await expect.poll(() => page.textContent('#message')).toContain('wrong bearer token');
    expect(await page.isVisible('#login')).toBe(true);

    await page.focus('#token');
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#nav:not([hidden])');
    const cookies = await context.cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: `lifecycle_session_${new URL(admin.baseUrl).port}`, httpOnly: true, sameSite: 'Strict' })]);
    // No script holds the token: nothing in storage.
    expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
    expect(await page.textContent('#session-who')).toBe('ADMIN_TOKEN (operator)');
    await expect.poll(() => page.textContent('#plan tbody')).toContain('C-today');
    await expect.poll(() => page.textContent('#refreshed')).toMatch(/^Last refreshed \d\d:\d\d:\d\d$/);

    // A POST with the cookie but without the session's CSRF header is refused.
    const forged = await page.evaluate(async () => (await fetch('/api/scans', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    expect(forged).toBe(403);
  });

  it('re-scans and shows what the scan found, with codes in words and the code on hover', async () => {
    smtp.setRejecting({ code: 550, message: 'mailbox unavailable' });
    await page.click('#rescan');
    await page.waitForSelector('#scans tbody tr:has-text("by an operator")');
    const cells = await page.locator('#scans tbody tr').first().locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['#1', D, 'by an operator', 'done']);
    // Found, enqueued, missed — as the scan reported them in the message — and redelivered.
    const [due, enqueued, missed] = /(\d+) due, (\d+) enqueued, (\d+) missed/.exec((await page.textContent('#message'))!)!.slice(1);
    expect(cells.slice(4, 8)).toEqual([due, enqueued, missed, '0']);
    expect(await page.getAttribute('#scans tbody tr >> text=by an operator', 'title')).toBe('operator');
    expect(await page.textContent('#message')).toMatch(new RegExp(`^scan #1 as of ${D}: \\d+ due, \\d+ enqueued, \\d+ missed, 0 pending notices redelivered$`));
    await expect.poll(async () => (await admin.runtime.queues.actions.getJobCounts('failed')).failed, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    smtp.setRejecting(undefined);
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#failed-badge')).toMatch(/^\d+ failed$/);
    await expect.poll(() => page.textContent('#undeliverable tbody')).toContain('C-nobody');
  });

  it('the lookup shows a subscription, and a failed lookup clears the previous answer', async () => {
    await page.fill('#lookup-id', 'C-today');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-result')).toContain('C-today');
    await page.fill('#lookup-id', 'NO-SUCH');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-result')).toContain('no subscription "NO-SUCH"');
    expect(await page.textContent('#lookup-result')).not.toContain('C-today');
  });

  it('searches and filters the subscription list, a page at a time', async () => {
    await page.click('#nav a[data-view=subscriptions]');
    await expect.poll(() => page.locator('#subscriptions tbody tr').count()).toBe(6);
    await page.fill('#f-q', 'R-');
    await page.click('#filter-form button[type=submit]');
    await expect.poll(() => page.locator('#subscriptions tbody tr').allTextContents()).toEqual([expect.stringContaining('R-early'), expect.stringContaining('R-open')]);
    await page.click('#filter-form button[type=reset]');
    await page.selectOption('#f-offer', 'competency');
    await page.click('#filter-form button[type=submit]');
    await expect.poll(() => page.locator('#subscriptions tbody tr').allTextContents()).toEqual([expect.stringContaining('Z-competency')]);
    await page.click('#filter-form button[type=reset]');
    await page.fill('#f-due', '10');
    await page.click('#filter-form button[type=submit]');
    // Only what is due within 10 days, in due-day order: not the anniversaries months away.
    await expect.poll(async () => (await page.locator('#subscriptions tbody tr').allTextContents()).some((row) => row.includes('R-early'))).toBe(false);
    expect(await page.textContent('#page-info')).toMatch(/^page 1: /);
    const dueRows = await page.locator('#subscriptions tbody tr').allTextContents();
    expect(dueRows.some((row) => row.includes('R-early'))).toBe(false);
    expect(dueRows.some((row) => row.includes('Z-competency'))).toBe(false);
    await screenshot(page, 'subscriptions-1280');
  });

  it('renews one subscription and shows the refusal of another with its rule; a notice opens as its email', async () => {
    await page.goto(`${admin.baseUrl}/#/subscription/R-open`);
    await page.waitForSelector('#subscription-title');
    await page.click('#subscription button:has-text("Renew")');
    await expect.poll(() => page.textContent('#action-outcome')).toMatch(/^Renew: .*renewed/);
    expect(await page.textContent('#subscription dl')).toContain(addDays(D, 360));
    expect(await page.textContent('#s-invoices tbody')).toContain('paid');
    const download = await page.evaluate(`(async () => {
      const response = await fetch(document.querySelector('#s-invoices a[download]').href);
      return { status: response.status, disposition: response.headers.get('content-disposition') };
    })()`);
    expect(download).toEqual({ status: 200, disposition: expect.stringMatching(/^attachment; filename="INV-\d{4}-\d{6}\.txt"$/) });
    await screenshot(page, 'subscription-1280');

    await page.goto(`${admin.baseUrl}/#/subscription/R-early`);
    await page.waitForSelector('#subscription-title');
    await page.click('#subscription button:has-text("Renew")');
    await expect.poll(() => page.textContent('#action-outcome .refusal')).toMatch(/^Refused by rule R\d+: .*\d{4}-\d\d-\d\d/);

    await page.goto(`${admin.baseUrl}/#/subscription/C-today`);
    await page.waitForSelector('#s-notices button');
    await page.click('#s-notices button:has-text("View")');
    const frame = page.frameLocator('#notice-frame');
    await expect.poll(() => frame.locator('body').textContent(), { timeout: 15_000 }).toContain('C-today');
    expect(await page.getAttribute('#notice-frame', 'sandbox')).toBe('');
    await screenshot(page, 'notice-1280');
    await page.click('#notice-close');
  });

  it('retries a failed job in bull-board at /queues with the same session', async () => {
    const before = (await admin.runtime.queues.actions.getJobCounts('failed')).failed ?? 0;
    expect(before).toBeGreaterThan(0);
    await page.goto(`${admin.baseUrl}/queues/queue/actions?status=failed`);
    // The job's card: its id, the stack trace of its failure, and its actions (retry first).
    const card = page.locator('[class*=card]', { has: page.locator('a[href*="remind-before.C-today"]') }).first();
    await card.waitFor({ timeout: 20_000 });
    await expect.poll(() => card.textContent(), { timeout: 10_000 }).toContain('550 mailbox unavailable');
    expect(await page.getByRole('button', { name: /retry all/i }).count()).toBe(1);
    await screenshot(page, 'queues-1280');
    await card.locator('ul[class*=jobActions] button').first().click();
    const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
    if (await dialog.isVisible().catch(() => false)) await dialog.getByRole('button', { name: /retry|confirm|yes/i }).last().click();
    await expect.poll(async () => (await admin.runtime.queues.actions.getJobCounts('failed')).failed, { timeout: 20_000, interval: 100 }).toBe(before - 1);
  });

  it('draws the 90-day forecast with uPlot served by the daemon', async () => {
    await page.goto(`${admin.baseUrl}/#/forecast`);
    await page.waitForSelector('#chart-actions canvas');
    expect(await page.locator('.chart canvas').count()).toBe(3);
    expect(await page.textContent('#forecast-range')).toContain(`${D} … ${addDays(D, 89)}`);
    expect(await page.locator('#forecast-weeks tbody tr').count()).toBe(13);
    await screenshot(page, 'forecast-1280');
  });

  for (const width of [390, 1280]) {
    it(`at ${width} px: no horizontal scrolling and no axe-core violation on any view`, async () => {
      await page.setViewportSize({ width, height: 900 });
      for (const view of ['#/', '#/subscriptions', '#/subscription/C-today', '#/forecast']) {
        await page.goto(`${admin.baseUrl}/${view}`);
        await page.waitForSelector('#nav:not([hidden])');
        await page.waitForFunction(`document.querySelector('#refreshed')?.textContent?.startsWith('Last refreshed')`);
        expect({ view, overflow: await overflow(page) }).toEqual({ view, overflow: 0 });
        expect({ view, violations: await findViolations(page) }).toEqual({ view, violations: [] });
        await screenshot(page, `${view.replace(/[#/]+/g, '-').replace(/^-|-$/g, '') || 'overview'}-${width}`);
      }
      // The header is whole: its right edge inside the window.
      const headerRight = (await page.evaluate(`Math.max(...[...document.querySelectorAll('header *')].map((e) => e.getBoundingClientRect().right))`)) as number;
      expect(headerRight).toBeLessThanOrEqual(width);
    });
  }

  it('a viewer sees no action button, and signing out ends the session', async () => {
    const viewer = (await createToken(world.store, 'console-viewer', 'viewer', new Date())).token;
    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewerPage = await viewerContext.newPage();
    // The job board without a session sends the browser to sign in, and back once signed in.
    await viewerPage.goto(`${admin.baseUrl}/queues`);
    expect(viewerPage.url()).toBe(`${admin.baseUrl}/?next=%2Fqueues`);
    await viewerPage.fill('#token', viewer);
    await viewerPage.click('#login-form button[type=submit]');
    await viewerPage.waitForURL(`${admin.baseUrl}/queues`);
    await viewerPage.goto(`${admin.baseUrl}/`);
    await viewerPage.waitForSelector('#nav:not([hidden])');
    expect(await viewerPage.textContent('#session-who')).toBe('console-viewer (viewer: read only)');
    expect(await viewerPage.isVisible('#rescan')).toBe(false);
    await viewerPage.goto(`${admin.baseUrl}/#/subscription/C-soon`);
    await viewerPage.waitForSelector('#subscription-title');
    expect(await viewerPage.locator('#subscription button:not(:has-text("View"))').count()).toBe(0);
    expect(await viewerPage.textContent('#subscription')).toContain('Read only');

    await viewerPage.click('#logout');
    await viewerPage.waitForSelector('#login:not([hidden])');
    expect(await viewerContext.cookies()).toEqual([]);
    await viewerContext.close();
    expect(pageErrors).toEqual([]);
  });
});
