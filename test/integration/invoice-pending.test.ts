import type { ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { reactivateSubscription, renewSubscription } from '../../src/operator/actions.js';
import { useWorlds, type World } from '../helpers/world.js';

const worlds = useWorlds();

const instructionsEn = 'Wire to TEST BANK, account 12-345.\\nQuote the invoice number.';
const instructionsZh = '請匯款至測試銀行，帳號 12-345。\\n付款附言請註明發票號碼。';

async function newWorld(today: string, gateway: 'test' | 'manual'): Promise<World> {
  return worlds.create({ PAYMENT_GATEWAY: gateway, PAYMENT_INSTRUCTIONS: instructionsEn, PAYMENT_INSTRUCTIONS_ZH_TW: instructionsZh }, today);
}

function receivedFor(subscription: string): ParsedMail[] {
  return worlds.smtp.messages.filter((message) => message.headers.get('x-lifecycle-subscription') === subscription);
}

function pendingInvoice(w: World, subscription: string): string {
  return w.store.connection.prepare("SELECT number FROM invoices WHERE subscription_id = ? AND status = 'pending'").pluck().get(subscription) as string;
}

describe('invoice-pending through real workers and a real SMTP server', () => {
  it('a bank-transfer auto-renewal sends invoice-pending (no receipt): number, amount, instructions, last day A + 30, dated on its day', async () => {
    const A = '2019-09-01';
    const w = await newWorld(A, 'test');
    await w.import([{ id: 'IP-bank', anniversaryOn: A, autoRenew: true, bankTransfer: true }]);
    const runtime = await w.startRuntime();
    const before = worlds.smtp.messages.length;
    await runScan(runtime.deps, { trigger: 'operator', asOf: A });
    await waitUntilIdle(runtime.queues.actions);
    await worlds.smtp.waitForMessages(before + 1);

    const kinds = receivedFor('IP-bank').map((message) => message.headers.get('x-lifecycle-notice'));
    expect(kinds).toEqual(['invoice-pending']);
    const message = receivedFor('IP-bank')[0]!;
    const number = pendingInvoice(w, 'IP-bank');
    expect(number).toMatch(/^INV-2019-/);
    expect(message.messageId).toBe(`<invoice-pending.IP-bank.${A}@${w.config.mailDomain}>`);
    expect(message.subject).toBe(`Invoice ${number}: pay $475.00 by October 1, 2019 to renew your Microsoft Action Pack`);
    for (const part of [message.text!, message.html as string]) {
      expect(part).toContain(number);
      expect(part).toContain('$475.00');
      expect(part).toContain('October 1, 2019');
      expect(part).toContain('Wire to TEST BANK, account 12-345.');
    }
    expect(message.text).toContain('Wire to TEST BANK, account 12-345.\nQuote the invoice number.');
    expect(message.html).toContain('Wire to TEST BANK, account 12-345.<br>Quote the invoice number.');
    expect(message.text).not.toContain("don't need to do anything");
    // The footer names the reader's own role (R10), from the partner's contacts.
    expect(message.text).toContain('you are the global admin on record for Partner P-1, a role that may renew');
    // The runtime's day is A while the wall clock is today: the Date header speaks for A.
    expect(message.date!.toISOString().slice(0, 10)).toBe(A);
    expect((await w.ledger()).filter((row) => row.action === 'auto-renew').map((row) => row.outcome)).toEqual(['pending-payment']);
  });

  it('an operator renewal under the manual gateway sends invoice-pending in the partner locale, with its last day', async () => {
    const today = '2020-03-20';
    const A = '2020-03-10';
    const w = await newWorld(today, 'manual');
    await w.import([{ id: 'IP-manual', anniversaryOn: A, offer: 'competency', partnerId: 'P-zh' }], [{ id: 'P-zh', locale: 'zh-TW' }]);
    const runtime = await w.startRuntime();
    // Every scan runs the queues' safety net first, so the remind jobs of this cycle are all past: only the notice is due.
    w.store.connection.prepare("UPDATE subscriptions SET done_mask = 15 WHERE id = 'IP-manual'").run();

    const result = await renewSubscription(
      { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(), operator: 'test' },
      'IP-manual',
      today,
    );
    expect(result).toMatchObject({ outcome: 'pending-payment', messageId: `<invoice-pending.IP-manual.${A}@${w.config.mailDomain}>` });

    const before = worlds.smtp.messages.length;
    await runScan(runtime.deps, { trigger: 'operator', asOf: today }); // the daemon delivers operator notices from the outbox
    await waitUntilIdle(runtime.queues.actions);
    await worlds.smtp.waitForMessages(before + 1);

    const [message] = receivedFor('IP-manual');
    expect(message!.headers.get('x-lifecycle-notice')).toBe('invoice-pending');
    const number = result.invoice!;
    expect(message!.subject).toBe(`發票 ${number}：請在 2020年4月9日前支付 US$4,730.00，以續約 Cloud Platform 金級專長認證`);
    for (const part of [message!.text!, message!.html as string]) {
      expect(part).toContain(number);
      expect(part).toContain('US$4,730.00');
      expect(part).toContain('2020年4月9日');
      expect(part).toContain('請匯款至測試銀行，帳號 12-345。');
    }
    expect(message!.text).toContain('付款期限：2020年4月9日');
  });

  it('a reactivation after a lapse that voided the cycle\'s renewal invoice sends its own invoice-pending', async () => {
    const A = '2020-03-10'; // covid-19-2020: reactivation can be paid until 2020-06-30
    const w = await newWorld('2020-03-20', 'manual');
    await w.import([{ id: 'IP-react', anniversaryOn: A, offer: 'competency' }]);
    const runtime = await w.startRuntime();
    const operator = { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(), operator: 'test' };
    const renewal = await renewSubscription(operator, 'IP-react', '2020-03-20');
    expect(renewal.outcome).toBe('pending-payment');

    w.today = '2020-04-10'; // A + 31: the lapse voids the unpaid renewal invoice
    await runScan(runtime.deps, { trigger: 'operator', asOf: w.today });
    await waitUntilIdle(runtime.queues.actions);
    expect(w.store.connection.prepare('SELECT status FROM invoices WHERE number = ?').pluck().get(renewal.invoice)).toBe('void');

    w.today = '2020-05-04';
    const reactivation = await reactivateSubscription(operator, 'IP-react', w.today);
    expect(reactivation).toMatchObject({ outcome: 'pending-payment', messageId: `<invoice-pending.IP-react.${A}.reactivation@${w.config.mailDomain}>` });
    const before = worlds.smtp.messages.length;
    await runScan(runtime.deps, { trigger: 'operator', asOf: w.today });
    await waitUntilIdle(runtime.queues.actions);
    await worlds.smtp.waitForMessages(before + 1);

    const invoiceMails = receivedFor('IP-react').filter((message) => message.headers.get('x-lifecycle-notice') === 'invoice-pending');
    expect(invoiceMails.map((message) => message.messageId)).toEqual([
      `<invoice-pending.IP-react.${A}@${w.config.mailDomain}>`,
      `<invoice-pending.IP-react.${A}.reactivation@${w.config.mailDomain}>`,
    ]);
    expect(invoiceMails[1]!.text).toContain(reactivation.invoice!);
    expect(invoiceMails[1]!.text).toContain('June 30, 2020');
  });

  it('an operator renewal whose card is declined is refused (R7), and the failed invoice, its audit entry and its event stay', async () => {
    const w = await newWorld('2019-09-20', 'test');
    await w.import([{ id: 'OP-declined', anniversaryOn: '2019-09-10', token: 'tok_chargeDeclined' }]);
    const runtime = await w.startRuntime();
    const operator = { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(), operator: 'test' };
    await expect(renewSubscription(operator, 'OP-declined', '2019-09-20')).rejects.toMatchObject({ rule: 'R7' });

    const one = (sql: string) => w.store.connection.prepare(sql).pluck().all('OP-declined');
    expect(one('SELECT status FROM invoices WHERE subscription_id = ?')).toEqual(['failed']);
    expect(one("SELECT event FROM audit_events WHERE subscription_id = ? AND event = 'renewal-failed'")).toHaveLength(1);
    expect(one('SELECT type FROM events WHERE subscription_id = ?')).toEqual(['subscription.renewal_failed']);
    expect(one('SELECT anniversary_on FROM subscriptions WHERE id = ?')).toEqual(['2019-09-10']);
  });
});
