import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { addDays } from '../../src/policy/dates.js';
import { createToken } from '../../src/store/tokens.js';
import { startAdminHarness, type AdminHarness } from '../helpers/admin.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { createWorld, type World } from '../helpers/world.js';
import { chromiumArgs, chromiumPath, hasChromium } from '../helpers/chromium.js';

const D = '2019-09-30';
const token = 'console-token-for-tests-42';

if (!hasChromium) console.warn(`admin-console.test.ts: skipped: ${chromiumPath} is absent (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)(hasChromium ? 'the web console in chromium' : `the web console: skipped, ${chromiumPath} is absent (apt-get install -y chromium)`, () => {
  let redis: TestRedis;
  let smtp: SmtpTestServer;
  let world: World;
  let admin: AdminHarness;
  let browser: Browser;

  beforeAll(async () => {
    [redis, smtp] = await Promise.all([startTestRedis(), startSmtpServer()]);
    world = await createWorld({ REDIS_URL: redis.url, SMTP_URL: smtp.url, ADMIN_TOKEN: token }, D);
    await world.import(
      [
        { id: 'C-today', anniversaryOn: addDays(D, 4) },
        { id: 'C-soon', anniversaryOn: addDays(D, 20), autoRenew: true, token: 'tok_visa' },
        { id: 'C-nobody', anniversaryOn: addDays(D, 6), partnerId: 'P-none' },
      ],
      [{ id: 'P-1' }, { id: 'P-none', contacts: 0 }],
    );
    admin = await startAdminHarness(world, token);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await world?.close();
    await Promise.all([redis?.stop(), smtp?.stop()]);
  });

  it('logs in with the token, re-scans, and shows the new scan, the plan and a subscription timeline', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${admin.baseUrl}/`);

    await page.fill('#token', 'not-the-token');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.textContent('#message')).toContain('wrong bearer token');
    expect(await page.isVisible('#login')).toBe(true);

    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#console:not([hidden])');
    await expect.poll(() => page.textContent('#scans tbody')).toContain('no scan yet');
    await expect.poll(() => page.textContent('#plan tbody')).toContain('C-today');
    expect(await page.textContent('#queue-counts')).toContain('actions:');

    await page.click('#rescan');
    await page.waitForSelector('#scans tbody tr:has-text("operator")');
    expect(await page.locator('#scans tbody tr').first().locator('td').allTextContents()).toEqual(['#1', D, 'operator', 'done', '2', '2', '0', expect.any(String)]);
    expect(await page.textContent('#message')).toBe(`scan #1 as of ${D}: 2 due, 2 enqueued, 0 missed, 0 pending notices redelivered`);

    await waitUntilIdle(admin.runtime.queues.actions);
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#undeliverable tbody')).toContain('C-nobody');

    // An event the receiver never acknowledged: listed with its reason and a Redeliver button,
    // refused here with the reason since this daemon has no EVENTS_WEBHOOK_URL.
    world.store.sqlite
      .prepare("INSERT INTO events (event_id, type, occurred_at, subscription_id, partner_id, data, status, attempts, last_error) VALUES ('evt_console', 'subscription.lapsed', ?, 'C-today', 'P-1', '{\"subscription\":\"C-today\"}', 'failed', 40, 'the receiver answered 503')")
      .run(new Date().toISOString());
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#failed-events tbody')).toContain('the receiver answered 503');
    const eventRow = page.locator('#failed-events tbody tr:has-text("subscription.lapsed")');
    expect((await eventRow.locator('td').allTextContents()).slice(1, 5)).toEqual(['subscription.lapsed', 'C-today', '40', 'the receiver answered 503']);
    await eventRow.locator('button').click();
    await expect.poll(() => page.textContent('#message')).toContain('EVENTS_WEBHOOK_URL is unset');

    await page.fill('#lookup-id', 'C-today');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#subscription')).toContain('remind-before: sent');
    expect(await page.textContent('#subscription h3')).toBe('C-today');

    expect(pageErrors).toEqual([]);
    if (process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });

    await page.click('#logout');
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.close();
  });

  it('a viewer token sees the console but is offered no action, and a refused action says why', async () => {
    const viewer = (await createToken(world.store, 'console-viewer', 'viewer', new Date())).token;
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${admin.baseUrl}/`);
    await page.fill('#token', viewer);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#console:not([hidden])');
    expect(await page.textContent('#session-who')).toBe('console-viewer (viewer: read only)');
    expect(await page.isVisible('#rescan')).toBe(false);
    expect(await page.isVisible('#refresh')).toBe(true);
    await expect.poll(() => page.textContent('#plan tbody')).toContain('C-soon');
    expect(await page.locator('#failed button').count()).toBe(0);
    expect(await page.locator('#failed-events button').count()).toBe(0);
    const refused = await page.evaluate(async (bearer) => {
      const response = await fetch('/api/scans', { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
      return { status: response.status, body: await response.json() };
    }, viewer);
    expect(refused).toEqual({ status: 403, body: { error: 'token "console-viewer" has the viewer role; POST /api/scans needs operator' } });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
