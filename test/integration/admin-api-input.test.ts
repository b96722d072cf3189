import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { storeBackends } from '../../support/backends.js';
import { useAdminWorlds } from '../helpers/admin.js';
import type { World } from '../helpers/world.js';

const D = '2019-09-30';
const token = 'admin-token-for-tests-0123456789';
const servers = useAdminWorlds({ hasSmtp: false });

/** What a query or a path may carry that no id, invoice number or Message-ID holds. */
const dueCursor = (nextDueOn: string, id: string) => Buffer.from(JSON.stringify([nextDueOn, id])).toString('base64url');

describe.each(await storeBackends())('admin API input on $name', (backend) => {
  async function start(env: Record<string, string> = {}) {
    const w = await servers.create({ ADMIN_TOKEN: token, ...env }, D, backend);
    const api = await servers.openApi(w as World);
    await w.import([{ id: 'S-1', anniversaryOn: '2019-10-10' }]);
    return api;
  }

  it('a control character in a query or an id is refused with 400 and the reason on both backends, never 500', async () => {
    const api = await start();
    const cases: [method: string, path: string, where: string][] = [
      ['GET', '/api/subscriptions?q=S%00', 'querystring/q'],
      ['GET', '/api/subscriptions?partner=P%00', 'querystring/partner'],
      ['GET', '/api/subscriptions?after=S%00', 'querystring/after'],
      ['GET', `/api/subscriptions?dueWithin=30&after=${dueCursor('2019-10-01', 'S\u0000')}`, 'querystring/after'],
      ['GET', `/api/subscriptions?dueWithin=30&after=${dueCursor('2019-10-01\u0000', 'S-1')}`, 'querystring/after'],
      ['GET', '/api/invoices/INV%00', 'params/number'],
      ['POST', '/api/invoices/INV%00/confirm', 'params/number'],
      ['GET', '/api/notices/%3Cx%00%3E/email', 'params/messageId'],
    ];
    for (const [method, path, where] of cases) {
      const reply = await api.call(method, path, method === 'POST' ? { body: {} } : {});
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      expect(reply.json.error).toMatch(new RegExp(`^${where}`));
    }
    // The cursors the list itself returns still page.
    const page = await api.call('GET', `/api/subscriptions?dueWithin=30&after=${dueCursor('2019-09-01', 'A')}`);
    expect(page.json.subscriptions.map((s: { id: string }) => s.id)).toEqual(['S-1']);
  });

  it('an events cursor or a redelivery range beyond any event id is an empty answer on both backends, never 500', async () => {
    const api = await start({ EVENTS_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', EVENTS_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` });
    const feed = await api.call('GET', '/api/events?after=999999999999999');
    expect(feed.status).toBe(200);
    expect(feed.json).toEqual({ events: [], next: '999999999999999' });
    const beyond = await api.call('POST', '/api/events/redeliver', { body: { from: 3_000_000_000, to: 3_000_000_009 } });
    expect(beyond.status).toBe(200);
    expect(beyond.json).toEqual({ from: 3_000_000_000, to: 3_000_000_009, queued: 0 });
  });

  it('renew, cancel, reactivate and confirm as of a day that has not come are refused with 400, as the CLI refuses them, and change nothing', async () => {
    const api = await start({ PAYMENT_GATEWAY: 'manual' });
    await api.call('PUT', '/api/subscriptions/S-2', { body: { partnerId: 'P-1', offer: 'action_pack', purchasedOn: '2018-09-25' } });
    const pending = await api.call('POST', '/api/subscriptions/S-2/renew', { body: { asOf: D } });
    expect(pending.json).toMatchObject({ outcome: 'pending-payment' });
    // The harness's operator clock is the real one (its program day is D): a day far after both.
    const later = '2999-01-01';
    const future = /^2999-01-01 is after today \(\d{4}-\d\d-\d\d\): an operator acts as of today or a past day$/;
    const cases: [path: string, body: object][] = [
      ['/api/subscriptions/S-1/renew', { asOf: later }],
      ['/api/subscriptions/S-1/cancel', { ticket: 'SR-1', asOf: later }],
      ['/api/subscriptions/S-1/reactivate', { asOf: later }],
      [`/api/invoices/${pending.json.invoice}/confirm`, { asOf: later }],
    ];
    const before = await api.call('GET', '/api/subscriptions/S-1');
    for (const [path, body] of cases) {
      const reply = await api.call('POST', path, { body });
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      expect(reply.json.error).toMatch(future);
    }
    expect((await api.call('GET', '/api/subscriptions/S-1')).json).toEqual(before.json);
    expect((await api.call('GET', `/api/invoices/${pending.json.invoice}`)).json.status).toBe('pending');
  });
});
