import { describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { describeSubscription } from '../../src/ops/describe.js';
import { useAdminWorlds, type AdminHarness } from '../helpers/admin.js';
import { errorLines, runLifecycle } from '../helpers/cli.js';
import type { World } from '../helpers/world.js';

const token = 'admin-token-for-tests-0123456789';

const servers = useAdminWorlds();

/** The `manual` gateway: every charge is a pending invoice an operator confirms (bank transfer, reactivation). */
async function start(today: string): Promise<{ w: World; api: AdminHarness; cli: (args: string[]) => ReturnType<typeof runLifecycle> }> {
  const { w, api } = await servers.start({ ADMIN_TOKEN: token, PAYMENT_GATEWAY: 'manual' }, today);
  const cli = (args: string[]) => runLifecycle(args, { dataDir: w.dir, env: { REDIS_URL: servers.redis.url, QUEUE_PREFIX: w.prefix, PAYMENT_GATEWAY: 'manual' } });
  return { w, api, cli };
}

/** Scans as of the world's day and waits for every job it made. */
async function scanOn(w: World, api: AdminHarness, day: string): Promise<void> {
  w.today = day;
  expect((await api.call('POST', '/api/scans', { body: { asOf: day } })).status).toBe(200);
  await waitUntilIdle(api.runtime.queues.actions);
}

function pendingInvoice(w: World, id: string): string {
  return w.store.connection.prepare('SELECT pending_invoice FROM subscriptions WHERE id = ?').pluck().get(id) as string;
}

function stateOf(w: World, id: string) {
  return w.store.connection.prepare('SELECT status, anniversary_on, pending_invoice, lapsed_on FROM subscriptions WHERE id = ?').get(id);
}

// A = 2019-09-15: window 2019-09-16 … 2019-10-15, lapse on 2019-10-16.
const window = 'the renewal window of anniversary 2019-09-15 ran from 2019-09-16 to 2019-10-15 (the last day to pay)';

describe('payments confirm is judged by the day of the payment (R5), whether or not the lapse job ran', () => {
  it('a bank-transfer auto-renewal invoiced on A: paid on A + 30 renews, on A + 31 or later is refused by the API and the CLI', async () => {
    const { w, api, cli } = await start('2019-09-15');
    await w.import([
      { id: 'B-31', anniversaryOn: '2019-09-15', autoRenew: true, bankTransfer: true },
      { id: 'B-30', anniversaryOn: '2019-09-15', autoRenew: true, bankTransfer: true },
      { id: 'B-late', anniversaryOn: '2019-09-15', autoRenew: true, bankTransfer: true },
    ]);
    await scanOn(w, api, '2019-09-15');
    const [late, onTime, dayAfter] = ['B-late', 'B-30', 'B-31'].map((id) => pendingInvoice(w, id));
    expect([late, onTime, dayAfter]).toEqual([expect.stringMatching(/^INV-2019-/), expect.stringMatching(/^INV-2019-/), expect.stringMatching(/^INV-2019-/)]);
    w.today = '2019-10-25'; // no scan since A: the lapse job has not run

    const accepted = await api.call('POST', `/api/invoices/${onTime}/confirm`, { body: { asOf: '2019-10-15' } });
    expect(accepted.json).toMatchObject({ outcome: 'renewed', newAnniversary: '2020-09-15' });
    const refused = await api.call('POST', `/api/invoices/${dayAfter}/confirm`, { body: { asOf: '2019-10-16' } });
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({ rule: 'R5', error: `invoice ${dayAfter} paid on 2019-10-16 is too late: ${window}; B-31 lapsed on 2019-10-16` });

    const byCli = await cli(['payments', 'confirm', late!, '--as-of', '2019-10-25']);
    expect(byCli.status).toBe(1);
    expect(byCli.stdout).toBe('');
    expect(errorLines(byCli.stderr)).toEqual([`error: refused (R5): invoice ${late} paid on 2019-10-25 is too late: ${window}; B-late lapsed on 2019-10-16`]);
    const byApi = await api.call('POST', `/api/invoices/${late}/confirm`, { body: {} }); // today, 2019-10-25
    expect(byApi.json.rule).toBe('R5');
    expect(stateOf(w, 'B-late')).toEqual({ status: 'active', anniversary_on: '2019-09-15', pending_invoice: late, lapsed_on: null });

    const show = await cli(['show', 'B-late', '--as-of', '2019-10-25']);
    expect(show.stdout).toContain(`  status        lapsed since 2019-10-16 (the lapse is not processed yet); invoice ${late} counts only if it was paid by 2019-10-15\n`);

    // The lapse job voids the unpaid invoices; a payment is still judged by its day, not by that.
    await scanOn(w, api, '2019-10-25');
    expect(stateOf(w, 'B-31')).toMatchObject({ status: 'lapsed', lapsed_on: '2019-10-16', pending_invoice: null });
    const tooLate = await api.call('POST', `/api/invoices/${dayAfter}/confirm`, { body: { asOf: '2019-10-16' } });
    expect(tooLate.json).toEqual({ rule: 'R5', error: `invoice ${dayAfter} was voided when B-31 lapsed on 2019-10-16, unpaid: ${window}; B-31 lapsed on 2019-10-16` });
    expect((await api.call('GET', '/api/subscriptions/B-31?asOf=2019-12-01')).json).toMatchObject({ status: 'lapsed', summary: 'lapsed since 2019-10-16', lapsedOn: '2019-10-16', benefitsEndOn: null });

    // Money that arrived on 2019-10-14, confirmed after the lapse ran: the renewal takes effect and the lapse is undone.
    const eventsBefore = (await api.call('GET', '/api/events?limit=500')).json.events.length as number;
    const inTime = await api.call('POST', `/api/invoices/${late}/confirm`, { body: { asOf: '2019-10-14' } });
    expect(inTime.status).toBe(200);
    expect(inTime.json).toMatchObject({ outcome: 'renewed', newAnniversary: '2020-09-15', invoice: late });
    expect(inTime.json.message).toContain('the lapse of 2019-10-16 is undone');
    expect(stateOf(w, 'B-late')).toEqual({ status: 'active', anniversary_on: '2020-09-15', pending_invoice: null, lapsed_on: null });
    const events = (await api.call('GET', '/api/events?limit=500')).json.events.slice(eventsBefore) as { type: string; data: Record<string, unknown> }[];
    expect(events.map((event) => event.type)).toEqual(['subscription.renewed', 'invoice.paid']);
    expect(events[0]!.data).toMatchObject({ subscription: 'B-late', anniversary: '2019-09-15', undoesLapseOf: '2019-10-16', newAnniversary: '2020-09-15' });
    expect(events[1]!.data).toMatchObject({ invoice: { number: late, status: 'paid' } });
    const again = await api.call('POST', `/api/invoices/${late}/confirm`, { body: { asOf: '2019-10-14' } });
    expect(again.json.rule).toBe('R12');
  });

  it('the manual gateway: renewed on 2019-10-10, confirmed on 2019-10-20 or 2019-10-16 is refused, on 2019-10-15 accepted', async () => {
    const { w, cli } = await start('2019-10-20');
    await w.import([{ id: 'M-1', anniversaryOn: '2019-09-15' }]);
    const renew = await cli(['renew', 'M-1', '--as-of', '2019-10-10', '--json']);
    expect(JSON.parse(renew.stdout)).toMatchObject({ outcome: 'pending-payment', newAnniversary: '2020-09-14' });
    const invoice = pendingInvoice(w, 'M-1');
    for (const day of ['2019-10-20', '2019-10-16']) {
      const refused = await cli(['payments', 'confirm', invoice, '--as-of', day]);
      expect(refused.status).toBe(1);
      expect(errorLines(refused.stderr)).toEqual([`error: refused (R5): invoice ${invoice} paid on ${day} is too late: ${window}; M-1 lapsed on 2019-10-16`]);
    }
    const accepted = await cli(['payments', 'confirm', invoice, '--as-of', '2019-10-15', '--json']);
    expect(accepted.status).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ outcome: 'renewed', newAnniversary: '2020-09-14', invoice });
  });
});

describe('a covid-19-2020 reactivation counts only if it is paid by 2020-06-30 (R14)', () => {
  it('pending since 2020-06-20: refused when paid on 2020-07-05 or 2020-07-01, accepted when paid on 2020-06-30', async () => {
    const { w, api } = await start('2020-04-10');
    await w.import([{ id: 'C-1', anniversaryOn: '2020-03-10', offer: 'competency' }]);
    await scanOn(w, api, '2020-04-10');
    expect(stateOf(w, 'C-1')).toMatchObject({ status: 'lapsed', lapsed_on: '2020-04-10' });
    w.today = '2020-06-20';
    const pending = await api.call('POST', '/api/subscriptions/C-1/reactivate', { body: { asOf: '2020-06-20' } });
    expect(pending.json).toMatchObject({ outcome: 'pending-payment', newAnniversary: '2021-03-10' });
    const invoice = pending.json.invoice as string;
    expect((await api.call('GET', '/api/subscriptions/C-1')).json).toMatchObject({
      summary: `lapsed since 2020-04-10; invoice ${invoice} awaits payment, last day to pay 2020-06-30`,
      payBy: '2020-06-30',
    });

    w.today = '2020-07-05';
    for (const day of ['2020-07-05', '2020-07-01']) {
      const refused = await api.call('POST', `/api/invoices/${invoice}/confirm`, { body: { asOf: day } });
      expect(refused.status).toBe(409);
      expect(refused.json).toEqual({ rule: 'R14', error: `invoice ${invoice} cannot count on ${day}: exception covid-19-2020 allowed reactivation until 2020-06-30; it is ${day}` });
    }
    expect(stateOf(w, 'C-1')).toMatchObject({ status: 'lapsed', pending_invoice: invoice });
    const accepted = await api.call('POST', `/api/invoices/${invoice}/confirm`, { body: { asOf: '2020-06-30' } });
    expect(accepted.json).toMatchObject({ outcome: 'reactivated', newAnniversary: '2021-03-10' });
    expect(stateOf(w, 'C-1')).toEqual({ status: 'active', anniversary_on: '2021-03-10', pending_invoice: null, lapsed_on: null });
  });
  it('a reactivation issued before the lapse job ran stays payable after the lapse, until 2020-06-30', async () => {
    const { w, api } = await start('2020-04-10');
    await w.import([{ id: 'C-2', anniversaryOn: '2020-03-10', offer: 'competency' }]);
    const pending = await api.call('POST', '/api/subscriptions/C-2/reactivate', { body: { asOf: '2020-04-10' } });
    const invoice = pending.json.invoice as string;
    expect(pending.json).toMatchObject({ outcome: 'pending-payment', invoice: expect.stringMatching(/^INV-2020-/) });
    await scanOn(w, api, '2020-04-10');
    expect(stateOf(w, 'C-2')).toEqual({ status: 'lapsed', anniversary_on: '2020-03-10', pending_invoice: invoice, lapsed_on: '2020-04-10' });
    expect(w.store.connection.prepare('SELECT status FROM invoices WHERE number = ?').pluck().get(invoice)).toBe('pending');
    expect((await api.call('POST', `/api/invoices/${invoice}/confirm`, { body: { asOf: '2020-07-01' } })).json.rule).toBe('R14');
    const accepted = await api.call('POST', `/api/invoices/${invoice}/confirm`, { body: { asOf: '2020-06-30' } });
    expect(accepted.json).toMatchObject({ outcome: 'reactivated', newAnniversary: '2021-03-10' });
  });
});

describe('one date for when a cancelled subscription\'s benefits end (R11)', () => {
  it('cancelled inside the window on 2019-09-25 (A = 2019-09-19): the same day in cancel, show, the API and a later renew', async () => {
    const { w, api, cli } = await start('2019-09-26');
    await w.import([
      { id: 'K-1', anniversaryOn: '2019-09-19', autoRenew: true, bankTransfer: true },
      { id: 'K-2', anniversaryOn: '2019-09-19' },
    ]);
    const byApiCancel = await api.call('POST', '/api/subscriptions/K-2/cancel', { body: { ticket: 'SR-78', asOf: '2019-09-25' } });
    expect(byApiCancel.json).toMatchObject({ outcome: 'cancelled', benefitsEndOn: '2019-09-25', message: expect.stringContaining('benefits end on 2019-09-25') });
    const cancel = await cli(['cancel', 'K-1', '--ticket', 'SR-77', '--as-of', '2019-09-25']);
    expect(cancel.stdout).toBe('K-1: cancelled (ticket SR-77): auto-renew and reminders stop; benefits end on 2019-09-25\n');

    const renew = await api.call('POST', '/api/subscriptions/K-1/renew', { body: { asOf: '2019-09-26' } });
    expect(renew.json).toEqual({ rule: 'R11', error: 'subscription K-1 was cancelled on 2019-09-25; its benefits end on 2019-09-25' });
    const renewByCli = await cli(['renew', 'K-1', '--as-of', '2019-09-26']);
    expect(errorLines(renewByCli.stderr)).toEqual(['error: refused (R11): subscription K-1 was cancelled on 2019-09-25; its benefits end on 2019-09-25']);

    const human = await cli(['show', 'K-1', '--as-of', '2019-09-26']);
    expect(human.stdout).toContain('  status        cancelled on 2019-09-25; benefits ended on 2019-09-25\n');
    expect(human.stdout).toContain('  cancelled     on 2019-09-25 (ticket SR-77)\n  benefits end  2019-09-25\n');
    expect(human.stdout).not.toMatch(/reminders|window|lapses on/);
    const onTheDay = await cli(['show', 'K-1', '--as-of', '2019-09-25']);
    expect(onTheDay.stdout).toContain('  status        active, benefits end on 2019-09-25 (cancelled on 2019-09-25: no renewal, no reminder)\n');

    const json = JSON.parse((await cli(['show', 'K-1', '--as-of', '2019-09-26', '--json'])).stdout);
    expect(json).toMatchObject({
      status: 'cancelled',
      summary: 'cancelled on 2019-09-25; benefits ended on 2019-09-25',
      benefitsEndOn: '2019-09-25',
      cancelledOn: '2019-09-25',
      cancelTicket: 'SR-77',
      remindBeforeOn: null,
      windowOpens: null,
      remindAfterOn: null,
      windowCloses: null,
      lapsesOn: null,
      nextDueOn: null,
    });
    const byApi = await api.call('GET', '/api/subscriptions/K-1?asOf=2019-09-26');
    expect(byApi.json).toEqual(json);
    expect((await describeSubscription(w.store, 'K-1', '2019-09-26')).benefitsEndOn).toBe('2019-09-25');
  });
});
