import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { cancelSubscription, confirmPayment, reactivateSubscription, renewSubscription, type OperatorDeps } from '../../src/operator/actions.js';
import { outboxMail, useWorlds, type World } from '../helpers/world.js';

const worlds = useWorlds({ hasSmtp: false });

/** The operator's clock says `today` (10:00 UTC); the test gateway charges tok_visa at once. */
async function start(today: string, gateway: 'test' | 'manual' = 'test'): Promise<{ w: World; operator: OperatorDeps }> {
  const w = await worlds.create({ ...outboxMail, PAYMENT_GATEWAY: gateway }, today);
  const runtime = await w.startRuntime();
  return { w, operator: { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(`${today}T10:00:00Z`), operator: 'test' } };
}

function rows(w: World, id: string) {
  const one = (query: string) => w.store.connection.prepare(query).all(id);
  return {
    subscription: one('SELECT status, anniversary_on, pending_invoice, cancelled_on FROM subscriptions WHERE id = ?'),
    invoices: one('SELECT number, status FROM invoices WHERE subscription_id = ?'),
    audit: one('SELECT event FROM audit_events WHERE subscription_id = ? AND actor = \'operator\''),
  };
}

const future = /^2019-09-02 is after today \(2019-08-20\): an operator acts as of today or a past day/;

describe('operator actions are recorded as of today or a past day, never a future one', () => {
  it('renew --as-of a day of the window that has not come yet is refused: no charge before the window opens (R6, seed 002)', async () => {
    // A = 2019-09-01: the window opens on 2019-09-02; today is 2019-08-20.
    const { w, operator } = await start('2019-08-20');
    await w.import([{ id: 'FD-1', anniversaryOn: '2019-09-01', token: 'tok_visa' }]);
    const before = rows(w, 'FD-1');
    const refused = renewSubscription(operator, 'FD-1', '2019-09-02');
    await expect(refused).rejects.toBeInstanceOf(InputError);
    await expect(refused).rejects.toThrow(future);
    expect(rows(w, 'FD-1')).toEqual(before);
    expect(before.invoices).toEqual([]);
    // Today itself is still refused by the window, as before.
    await expect(renewSubscription(operator, 'FD-1', '2019-08-20')).rejects.toMatchObject({ rule: 'R6' });
  });

  it('cancel --as-of a future day inside the window is refused: it would move the end of benefits past A (R11)', async () => {
    const { w, operator } = await start('2019-08-20');
    await w.import([{ id: 'FD-2', anniversaryOn: '2019-09-01' }]);
    await expect(cancelSubscription(operator, 'FD-2', 'SR-1', '2019-09-02')).rejects.toThrow(future);
    expect(rows(w, 'FD-2').subscription).toEqual([{ status: 'active', anniversary_on: '2019-09-01', pending_invoice: null, cancelled_on: null }]);
    expect(await cancelSubscription(operator, 'FD-2', 'SR-1', '2019-08-20')).toMatchObject({ outcome: 'cancelled', benefitsEndOn: '2019-09-01' });
  });

  it('payments confirm --as-of a day that has not come is refused: a payment cannot arrive in the future', async () => {
    const { w, operator } = await start('2019-08-20', 'manual');
    await w.import([{ id: 'FD-3', anniversaryOn: '2019-08-10' }]);
    const renewal = await renewSubscription(operator, 'FD-3', '2019-08-20');
    expect(renewal.outcome).toBe('pending-payment');
    await expect(confirmPayment(operator, renewal.invoice!, '2019-09-02')).rejects.toThrow(future);
    expect(rows(w, 'FD-3').invoices).toEqual([{ number: renewal.invoice, status: 'pending' }]);
    expect(await confirmPayment(operator, renewal.invoice!, '2019-08-20')).toMatchObject({ outcome: 'renewed' });
  });

  it('reactivate --as-of a day after the window, while it is still open, is refused (R14 judged on a day that has come)', async () => {
    // A = 2020-03-10: the window closes on 2020-04-09; today is 2020-04-01.
    const w = await worlds.create({ ...outboxMail, PAYMENT_GATEWAY: 'manual' }, '2020-04-01');
    const runtime = await w.startRuntime();
    const operator = { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date('2020-04-01T10:00:00Z'), operator: 'test' };
    await w.import([{ id: 'FD-4', anniversaryOn: '2020-03-10', offer: 'competency' }]);
    await expect(reactivateSubscription(operator, 'FD-4', '2020-04-15')).rejects.toThrow(/^2020-04-15 is after today \(2020-04-01\)/);
    expect(rows(w, 'FD-4').invoices).toEqual([]);
  });
});
