import { describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { confirmPayment, reactivateSubscription, renewSubscription } from '../../src/operator/actions.js';
import { useWorlds, outboxMail, type World } from '../helpers/world.js';

const worlds = useWorlds({ hasSmtp: false });

function invoices(w: World, id: string): { number: string; purpose: string; status: string; failure_reason: string | null }[] {
  return w.store.connection.prepare('SELECT number, purpose, status, failure_reason FROM invoices WHERE subscription_id = ? ORDER BY number').all(id) as never;
}

function pendingOf(w: World, id: string): string | null {
  return w.store.connection.prepare('SELECT pending_invoice FROM subscriptions WHERE id = ?').pluck().get(id) as string | null;
}

/** The `manual` gateway: every charge is a pending invoice an operator confirms. A = 2020-03-10: covid-19-2020 reactivation until 2020-06-30. */
async function lapsedCompetency(id: string): Promise<{ w: World; operator: Parameters<typeof reactivateSubscription>[0] }> {
  const w = await worlds.create({ ...outboxMail, PAYMENT_GATEWAY: 'manual' }, '2020-04-10');
  await w.import([{ id, anniversaryOn: '2020-03-10', offer: 'competency' }]);
  const runtime = await w.startRuntime();
  return { w, operator: { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(), operator: 'test' } };
}

describe('a reactivation waiting for its payment is not issued twice (R7, R14)', () => {
  it('a second reactivation while the first invoice is pending is refused, and the first stays the one to pay', async () => {
    const { w, operator } = await lapsedCompetency('RP-1');
    const first = await reactivateSubscription(operator, 'RP-1', '2020-05-04');
    expect(first).toMatchObject({ outcome: 'pending-payment' });
    await expect(reactivateSubscription(operator, 'RP-1', '2020-05-06')).rejects.toMatchObject({
      rule: 'R7',
      message: `a reactivation is already waiting for payment of invoice ${first.invoice} (lifecycle payments confirm ${first.invoice})`,
    });
    expect(invoices(w, 'RP-1').map((i) => `${i.purpose} ${i.status}`)).toEqual(['reactivation pending']);
    expect(pendingOf(w, 'RP-1')).toBe(first.invoice);
    expect(await confirmPayment(operator, first.invoice!, '2020-05-10')).toMatchObject({ outcome: 'reactivated', newAnniversary: '2021-03-10' });
  });

  it('a reactivation before the lapse job ran voids the renewal invoice it replaces, which can no longer be paid (R5)', async () => {
    const { w, operator } = await lapsedCompetency('RP-2');
    const renewal = await renewSubscription(operator, 'RP-2', '2020-03-20');
    expect(renewal.outcome).toBe('pending-payment');
    // No scan since: stored active, lapsed by its date (A + 31 = 2020-04-10).
    const reactivation = await reactivateSubscription(operator, 'RP-2', '2020-04-12');
    expect(reactivation.outcome).toBe('pending-payment');
    expect(invoices(w, 'RP-2').map((i) => `${i.number === renewal.invoice ? 'renewal' : 'reactivation'} ${i.status} ${i.failure_reason ?? ''}`.trim())).toEqual([
      'renewal void lapsed before payment',
      'reactivation pending',
    ]);
    expect(pendingOf(w, 'RP-2')).toBe(reactivation.invoice);
    const events = w.store.connection.prepare("SELECT type FROM events WHERE subscription_id = 'RP-2' ORDER BY id").pluck().all();
    expect(events).toEqual(['subscription.renewal_pending', 'invoice.voided', 'subscription.renewal_pending']);

    // The lapse job keeps the reactivation's invoice; the voided renewal counts only if paid by A + 30.
    w.today = '2020-04-12';
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: w.today });
    await waitUntilIdle(runtime.queues.actions);
    expect(pendingOf(w, 'RP-2')).toBe(reactivation.invoice);
    await expect(confirmPayment(operator, renewal.invoice!, '2020-04-10')).rejects.toMatchObject({ rule: 'R5' });
    // Paid on 2020-03-25 after all (confirmed late): the renewal counts and the reactivation's invoice is voided.
    const inTime = await confirmPayment(operator, renewal.invoice!, '2020-03-25');
    expect(inTime).toMatchObject({ outcome: 'renewed', newAnniversary: renewal.newAnniversary });
    expect(pendingOf(w, 'RP-2')).toBeNull();
    expect(invoices(w, 'RP-2').map((i) => `${i.number === renewal.invoice ? 'renewal' : 'reactivation'} ${i.status} ${i.failure_reason ?? ''}`.trim())).toEqual([
      'renewal paid',
      'reactivation void the renewal it replaced was paid in time',
    ]);
    await expect(confirmPayment(operator, reactivation.invoice!, '2020-04-12')).rejects.toMatchObject({ rule: 'R12' });
  });
});

describe('an auto-renew that did not run on A does not invoice a cycle an operator already renewed (R7)', () => {
  it('down on A, renewed by bank transfer on A + 1: the catch-up scan issues no second invoice, and the first still renews', async () => {
    const A = '2019-09-15';
    const w = await worlds.create({ ...outboxMail, PAYMENT_GATEWAY: 'test' }, '2019-09-16');
    await w.import([{ id: 'AR-1', anniversaryOn: A, autoRenew: true, bankTransfer: true }]);
    const runtime = await w.startRuntime();
    const operator = { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(), operator: 'test' };
    const renewal = await renewSubscription(operator, 'AR-1', '2019-09-16');
    expect(renewal.outcome).toBe('pending-payment');

    w.today = '2019-09-17';
    await runScan(runtime.deps, { trigger: 'operator', asOf: w.today });
    await waitUntilIdle(runtime.queues.actions);
    expect(invoices(w, 'AR-1').map((i) => `${i.number} ${i.purpose} ${i.status}`)).toEqual([`${renewal.invoice} renewal pending`]);
    expect(pendingOf(w, 'AR-1')).toBe(renewal.invoice);
    expect((await w.ledger()).filter((row) => row.subscription === 'AR-1').map((row) => `${row.action} ${row.outcome}`)).toEqual(['remind-before skipped:missed']);

    expect(await confirmPayment(operator, renewal.invoice!, '2019-09-20')).toMatchObject({ outcome: 'renewed', newAnniversary: '2020-09-14' });
  });
});
