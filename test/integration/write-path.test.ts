import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualGateway, createTestGateway, type ChargeResult, type PaymentGateway } from '../../src/billing/gateway.js';
import type { Config } from '../../src/config.js';
import type { JobDeps } from '../../src/jobs/deps.js';
import { processAutoRenew } from '../../src/jobs/auto-renew.js';
import { processLapse } from '../../src/jobs/lapse.js';
import { flushWrittenEvents, redeliverEvents, type ActionQueue } from '../../src/jobs/queues.js';
import { processReminder } from '../../src/jobs/remind.js';
import { runScan } from '../../src/jobs/scan.js';
import { cancelSubscription, confirmPayment, renewSubscription, type OperatorDeps } from '../../src/operator/actions.js';
import { addDays } from '../../src/policy/dates.js';
import type { Executor, Store } from '../../src/store/executor.js';
import { createInvoice } from '../../src/store/invoices.js';
import { finishScanRun, startScanRun } from '../../src/store/scan-runs.js';
import { storeBackends, type StorePlace } from '../../support/backends.js';

// The daemon's write path on each backend, without Redis (a queue that records what it is given):
// what SQLite's single writer guaranteed must hold on PostgreSQL's concurrent transactions too.

const today = '2019-09-20';
const now = () => new Date(`${today}T12:00:00Z`);

interface Added {
  name: string;
  data: { subscription?: string; eventId?: string; eventIds?: string[] };
}

function createRecordingQueue(added: Added[]): ActionQueue {
  return {
    addBulk: async (jobs: Added[]) => {
      added.push(...jobs);
      return [];
    },
    getJob: async () => undefined,
  } as unknown as ActionQueue;
}

const config = {
  renewUrl: 'https://renew.example',
  supportUrl: 'https://support.example',
  mailDomain: 'lifecycle.example',
  timeZone: 'UTC',
  eventsWebhookUrl: 'https://hooks.example/lifecycle',
  jobBackoffMs: 10,
  jobLockMs: 30_000,
} as unknown as Readonly<Config>;

async function seed(ex: Executor, subscriptions: { id: string; anniversary: string; method: 'credit_card' | 'bank_transfer' | null }[]): Promise<void> {
  const at = now().toISOString();
  await ex.run(sql`
    INSERT INTO partners (id, name, locale, is_migrated, bill_to_line1, bill_to_city, bill_to_postal_code, bill_to_country, has_bill_to, created_at, updated_at)
    VALUES ('P-1', 'Partner', 'en', 1, '1 Main St', 'Springfield', '12345', 'US', 1, ${at}, ${at})`);
  await ex.run(sql`INSERT INTO contacts (partner_id, name, email, role) VALUES ('P-1', 'Ann', 'ann@partner.example', 'global_admin')`);
  for (const { id, anniversary, method } of subscriptions) {
    await ex.run(sql`
      INSERT INTO subscriptions (id, partner_id, offer, purchased_on, imported_anniversary_on, anniversary_on, is_auto_renew, is_requirements_met,
        payment_method, payment_token, payment_contact_name, payment_phone, payment_email, status, done_mask, next_due_on, created_at, updated_at)
      VALUES (${id}, 'P-1', 'action_pack', '2018-01-01', ${anniversary}, ${anniversary}, 1, 1, ${method}, ${method === 'credit_card' ? 'tok_visa' : null},
        'Bob', '555-0100', 'bob@partner.example', 'active', 0, ${addDays(anniversary, -15)}, ${at}, ${at})`);
  }
}

async function count(ex: Executor, query: ReturnType<typeof sql>): Promise<number> {
  return (await ex.get<{ n: number }>(query))!.n;
}

describe.each(await storeBackends())('the write path on $name', (backend) => {
  let place: StorePlace | undefined;
  afterEach(async () => {
    await place?.drop();
    place = undefined;
  });

  async function start(): Promise<{ store: Store; deps: JobDeps; operator: OperatorDeps; added: Added[]; sent: string[] }> {
    place = await backend.create();
    const store = await place.connect();
    const added: Added[] = [];
    const sent: string[] = [];
    const log = { child: () => log, info() {}, debug() {}, warn() {}, error() {} };
    const deps = {
      store,
      config,
      gateway: createTestGateway(),
      queue: createRecordingQueue(added),
      today: () => today,
      now,
      log,
      sendNotice: async (notice: { message_id: string }) => {
        sent.push(notice.message_id);
      },
    } as unknown as JobDeps;
    const operator: OperatorDeps = { store, config, gateway: createManualGateway(), now, operator: 'test' };
    return { store, deps, operator, added, sent };
  }

  it('a scan records missed actions with the mask they explain, once a day, and enqueues what is due', async () => {
    const { store, deps, added } = await start();
    await seed(store, [
      { id: 'S-late', anniversary: addDays(today, -40), method: 'credit_card' },
      { id: 'S-soon', anniversary: addDays(today, 10), method: 'credit_card' },
    ]);
    const scan = await runScan(deps, { trigger: 'daily' });
    expect(scan).toMatchObject({ due: 2, enqueued: 2, missed: 3 });
    expect(added.map((job) => `${job.name} ${job.data.subscription}`).sort()).toEqual(['lapse S-late', 'remind-before S-soon']);
    const ledger = await store.all<{ action: string; outcome: string }>(sql`SELECT action, outcome FROM actions WHERE subscription_id = 'S-late' ORDER BY id`);
    expect(ledger).toEqual([
      { action: 'remind-before', outcome: 'skipped:missed' },
      { action: 'auto-renew', outcome: 'skipped:missed' },
      { action: 'remind-after', outcome: 'skipped:missed' },
    ]);
    expect(await store.get(sql`SELECT done_mask FROM subscriptions WHERE id = 'S-late'`)).toEqual({ done_mask: 7 });
    expect(await runScan(deps, { trigger: 'daily' })).toMatchObject({ scanId: null, skipped: `the daily scan of ${today} ran already` });
    expect(await store.all(sql`SELECT status, missed_count FROM scan_runs`)).toEqual([{ status: 'done', missed_count: 3 }]);
  });

  it('a daily scan running elsewhere is not run again; one whose heartbeat stopped is taken over', async () => {
    const { store, deps } = await start();
    const at = now();
    const stale = (ms: number) => new Date(at.getTime() - ms);
    const first = await startScanRun(store, today, 'daily', at, stale(60_000));
    expect(first).toEqual(expect.any(Number));
    // Another daemon's scheduler fires meanwhile: the scan is running, with a fresh heartbeat.
    expect(await runScan(deps, { trigger: 'daily' })).toMatchObject({ scanId: null, skipped: `the daily scan of ${today} is running (started by this or another daemon)` });
    expect(await startScanRun(store, today, 'daily', new Date(at.getTime() + 59_000), new Date(at.getTime() - 1_000))).toBe('running');
    // Its heartbeat is older than the lease: its process died, the scan is taken over (the same row).
    expect(await startScanRun(store, today, 'daily', new Date(at.getTime() + 61_000), new Date(at.getTime() + 1_000))).toBe(first);
    await finishScanRun(store, first as number, { due: 0, enqueued: 0, missed: 0 }, at);
    expect(await startScanRun(store, today, 'daily', new Date(at.getTime() + 600_000), new Date(at.getTime() + 500_000))).toBe('done');
    expect(await store.all(sql`SELECT status FROM scan_runs`)).toEqual([{ status: 'done' }]);
  });

  it('two runs of the same job at once take effect once: lapse, reminder, auto-renewal', async () => {
    const { store, deps, sent } = await start();
    await seed(store, [
      { id: 'S-lapse', anniversary: addDays(today, -31), method: null },
      { id: 'S-remind', anniversary: addDays(today, 10), method: null },
      { id: 'S-renew', anniversary: today, method: 'credit_card' },
    ]);
    const job = (id: string, anniversary: string) => ({ subscription: id, anniversary, foundOn: today });
    const lapse = job('S-lapse', addDays(today, -31));
    const remind = job('S-remind', addDays(today, 10));
    const renew = job('S-renew', today);
    const runs = [
      () => processLapse(deps, lapse, 'l1'),
      () => processLapse(deps, lapse, 'l2'),
      () => processReminder(deps, 'remind-before', remind, 'r1'),
      () => processReminder(deps, 'remind-before', remind, 'r2'),
      () => processAutoRenew(deps, renew, 'a1'),
      () => processAutoRenew(deps, renew, 'a2'),
    ];
    // A run that finds its notice being handed to SMTP by the other throws to be retried; its retry takes no effect either.
    const outcomes = await Promise.all(
      runs.map((run) => run().catch((error: Error) => (/is being handed to SMTP by another delivery/.test(error.message) ? run() : Promise.reject(error)))),
    );
    expect(outcomes).toEqual(['lapsed', 'lapsed', 'sent', 'sent', 'renewed', 'renewed']);
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(3);
    expect(await store.all(sql`SELECT event FROM audit_events ORDER BY event`)).toEqual([{ event: 'auto-renewed' }, { event: 'lapsed' }]);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM notices`)).toBe(3);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM invoices`)).toBe(1);
    const { renews_to: renewsTo } = (await store.get<{ renews_to: string }>(sql`SELECT renews_to FROM invoices`))!;
    expect(await store.get(sql`SELECT anniversary_on, done_mask FROM subscriptions WHERE id = 'S-renew'`)).toEqual({ anniversary_on: renewsTo, done_mask: 0 });
    expect(await store.all(sql`SELECT outcome FROM actions WHERE subscription_id = 'S-remind'`)).toEqual([{ outcome: 'sent' }]);
  });

  it('a job run again while its first run is still handing the notice to SMTP (a stalled job) sends it once', async () => {
    const { store, deps, sent } = await start();
    await seed(store, [
      { id: 'S-remind', anniversary: addDays(today, 10), method: null },
      { id: 'S-lapse', anniversary: addDays(today, -31), method: null },
    ]);
    for (const [action, id, anniversary] of [['remind-before', 'S-remind', addDays(today, 10)], ['lapse', 'S-lapse', addDays(today, -31)]] as const) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const handOffs: (() => void)[] = [];
      const handedOff = [0, 1].map((i) => new Promise<void>((resolve) => (handOffs[i] = resolve)));
      let calls = 0;
      const slow = {
        ...deps,
        sendNotice: async (notice: { message_id: string }) => {
          handOffs[calls++]?.();
          await released;
          sent.push(notice.message_id);
        },
      } as JobDeps;
      const data = { subscription: id, anniversary, foundOn: today };
      const run = (jobId: string) => (action === 'lapse' ? processLapse(slow, data, jobId) : processReminder(slow, action, data, jobId));
      const first = run(`${action}-1`);
      await handedOff[0];
      // The same job taken again by another worker (its lock lost): the notice is being sent, not to be sent again.
      const again = run(`${action}-2`).then((outcome) => ({ outcome }), (error: Error) => ({ error: error.message }));
      await Promise.race([again, handedOff[1]]);
      release();
      const second = await again;
      expect(await first).toBe(action === 'lapse' ? 'lapsed' : 'sent');
      expect(second).toEqual({ error: expect.stringMatching(/is being handed to SMTP by another delivery/) });
      // Its retry finds the notice sent.
      expect(await run(`${action}-3`)).toBe(action === 'lapse' ? 'lapsed' : 'sent');
    }
    expect(sent).toHaveLength(2);
    expect(new Set(sent).size).toBe(2);
    expect(await store.all(sql`SELECT status, attempts FROM notices ORDER BY id`)).toEqual([
      { status: 'sent', attempts: 1 },
      { status: 'sent', attempts: 1 },
    ]);
  });

  it('a notice whose hand-off failed is free for the next attempt at once', async () => {
    const { store, deps, sent } = await start();
    await seed(store, [{ id: 'S-remind', anniversary: addDays(today, 10), method: null }]);
    const data = { subscription: 'S-remind', anniversary: addDays(today, 10), foundOn: today };
    const failing = { ...deps, sendNotice: async () => Promise.reject(new Error('421 try later')) } as JobDeps;
    await expect(processReminder(failing, 'remind-before', data, 'r1')).rejects.toThrow('421 try later');
    expect(await processReminder(deps, 'remind-before', data, 'r2')).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(await store.get(sql`SELECT status, attempts FROM notices`)).toEqual({ status: 'sent', attempts: 2 });
  });

  it('two confirmations of one pending invoice pay it once; a cancellation voids the other pending one', async () => {
    const { store, deps, operator } = await start();
    await seed(store, [
      { id: 'S-bank', anniversary: today, method: 'bank_transfer' },
      { id: 'S-cancel', anniversary: today, method: 'bank_transfer' },
    ]);
    for (const id of ['S-bank', 'S-cancel']) {
      expect(await processAutoRenew(deps, { subscription: id, anniversary: today, foundOn: today }, `a-${id}`)).toBe('pending-payment');
    }
    const [paid, voided] = await store.all<{ number: string }>(sql`SELECT number FROM invoices ORDER BY seq`);
    const results = await Promise.allSettled([confirmPayment(operator, paid!.number, today), confirmPayment(operator, paid!.number, today)]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await store.all(sql`SELECT action, outcome FROM actions WHERE subscription_id = 'S-bank' AND action = 'renew'`)).toEqual([{ action: 'renew', outcome: 'renewed' }]);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM events WHERE type = 'invoice.paid'`)).toBe(1);
    await cancelSubscription(operator, 'S-cancel', 'T-1', today);
    expect(await store.get(sql`SELECT status FROM invoices WHERE number = ${voided!.number}`)).toEqual({ status: 'void' });
    await expect(confirmPayment(operator, voided!.number, today)).rejects.toMatchObject({ rule: expect.any(String) });
  });

  it('an invoice the lapse voided, paid inside the window: two confirmations at once renew once and undo the lapse', async () => {
    const { store, deps, operator } = await start();
    const anniversary = addDays(today, -40);
    await seed(store, [{ id: 'S-paid-late', anniversary, method: 'bank_transfer' }]);
    const invoice = await store.transaction(async (tx) => {
      const row = await createInvoice(tx, { subscriptionId: 'S-paid-late', anniversary, purpose: 'auto-renew', offer: 'action_pack', amountMinor: 100, currency: 'USD', method: 'bank_transfer', renewsTo: addDays(anniversary, 365), issuedOn: anniversary, at: now() });
      await tx.run(sql`UPDATE subscriptions SET pending_invoice = ${row.number} WHERE id = 'S-paid-late'`);
      return row;
    });
    expect(await processLapse(deps, { subscription: 'S-paid-late', anniversary, foundOn: today }, 'l1')).toBe('lapsed');
    expect(await store.get(sql`SELECT status FROM invoices WHERE number = ${invoice.number}`)).toEqual({ status: 'void' });

    const paidOn = addDays(anniversary, 20);
    const results = await Promise.allSettled([confirmPayment(operator, invoice.number, paidOn), confirmPayment(operator, invoice.number, paidOn)]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await store.get(sql`SELECT status, anniversary_on, lapsed_on, pending_invoice FROM subscriptions WHERE id = 'S-paid-late'`)).toEqual({
      status: 'active',
      anniversary_on: invoice.renews_to,
      lapsed_on: null,
      pending_invoice: null,
    });
    expect(await store.get(sql`SELECT status, paid_on, failure_reason FROM invoices WHERE number = ${invoice.number}`)).toEqual({ status: 'paid', paid_on: paidOn, failure_reason: null });
    expect(await store.all(sql`SELECT type FROM events WHERE subscription_id = 'S-paid-late' AND type <> 'notice.sent' ORDER BY id`)).toEqual([
      { type: 'subscription.lapsed' },
      { type: 'invoice.voided' },
      { type: 'subscription.renewed' },
      { type: 'invoice.paid' },
    ]);
  });

  /** A gateway whose answer waits for `release()`: what another transaction does meanwhile is the race. */
  function createPausedGateway(answer: ChargeResult): { gateway: PaymentGateway; isCharging: Promise<void>; release: () => void } {
    let release!: () => void;
    let charging!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isCharging = new Promise<void>((resolve) => (charging = resolve));
    const gateway: PaymentGateway = {
      name: 'paused',
      charge: async () => {
        charging();
        await released;
        return answer;
      },
    };
    return { gateway, isCharging, release };
  }

  it('a cancellation while the auto-renewal is charged wins: no renewal, the paid invoice flagged for a refund, a pending one voided', async () => {
    const { store, deps, operator } = await start();
    await seed(store, [
      { id: 'S-card', anniversary: today, method: 'credit_card' },
      { id: 'S-bank', anniversary: today, method: 'bank_transfer' },
    ]);
    for (const [id, answer] of [['S-card', { status: 'paid', reference: 'ch_1' }], ['S-bank', { status: 'pending', reference: null }]] as const) {
      const paused = createPausedGateway(answer);
      const renewal = processAutoRenew({ ...deps, gateway: paused.gateway }, { subscription: id, anniversary: today, foundOn: today }, `a-${id}`);
      await paused.isCharging;
      expect((await cancelSubscription(operator, id, 'T-9', today)).outcome).toBe('cancelled');
      paused.release();
      expect(await renewal).toBe('skipped:cancelled');
    }
    expect(await store.all(sql`SELECT id, status, anniversary_on, pending_invoice FROM subscriptions ORDER BY id`)).toEqual([
      { id: 'S-bank', status: 'cancelled', anniversary_on: today, pending_invoice: null },
      { id: 'S-card', status: 'cancelled', anniversary_on: today, pending_invoice: null },
    ]);
    expect(await store.all(sql`SELECT subscription_id, status, failure_reason FROM invoices ORDER BY subscription_id`)).toEqual([
      { subscription_id: 'S-bank', status: 'void', failure_reason: 'the subscription changed while it was charged' },
      { subscription_id: 'S-card', status: 'paid', failure_reason: null },
    ]);
    const ledger = await store.all<{ subscription_id: string; outcome: string; detail: string }>(sql`SELECT subscription_id, outcome, detail FROM actions WHERE action = 'auto-renew' ORDER BY subscription_id`);
    expect(ledger.map((row) => [row.subscription_id, row.outcome])).toEqual([['S-bank', 'skipped:cancelled'], ['S-card', 'skipped:cancelled']]);
    expect(ledger[1]!.detail).toMatch(/it was cancelled meanwhile \(on 2019-09-20\); the gateway took the payment \(ch_1\): refund invoice INV-2019-\d+ in the billing system/);
    expect(await store.all(sql`SELECT subscription_id, event FROM audit_events WHERE event IN ('refund-due', 'charge-dropped', 'auto-renewed', 'auto-renew-pending-payment') ORDER BY subscription_id`)).toEqual([
      { subscription_id: 'S-bank', event: 'charge-dropped' },
      { subscription_id: 'S-card', event: 'refund-due' },
    ]);
    const paid = await store.all<{ subscription_id: string; data: string }>(sql`SELECT subscription_id, data FROM events WHERE type = 'invoice.paid'`);
    expect(paid.map((row) => [row.subscription_id, JSON.parse(row.data).refundDue])).toEqual([['S-card', 'it was cancelled meanwhile (on 2019-09-20)']]);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM events WHERE type IN ('subscription.renewed', 'subscription.renewal_pending')`)).toBe(0);
    // The gateway was asked for the pending one: the billing system learns that it is void.
    const voided = await store.all<{ subscription_id: string; data: string }>(sql`SELECT subscription_id, data FROM events WHERE type = 'invoice.voided'`);
    expect(voided.map((row) => [row.subscription_id, JSON.parse(row.data).reason, JSON.parse(row.data).invoice.status])).toEqual([
      ['S-bank', 'the subscription changed while it was charged', 'void'],
    ]);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM notices`)).toBe(0); // no receipt, no invoice to pay
  });

  it('a declined auto-renewal keeps what other jobs recorded while it was charged (a catch-up reminder sent meanwhile)', async () => {
    const { store, deps } = await start();
    const anniversary = addDays(today, -25); // a catch-up day: auto-renew and remind-after both due
    await seed(store, [{ id: 'S-declined', anniversary, method: 'credit_card' }]);
    const job = { subscription: 'S-declined', anniversary, foundOn: today };
    const paused = createPausedGateway({ status: 'failed', reason: 'declined', message: 'card declined' });
    const renewal = processAutoRenew({ ...deps, gateway: paused.gateway }, job, 'a-1');
    await paused.isCharging;
    expect(await processReminder(deps, 'remind-after', job, 'r-1')).toBe('sent');
    paused.release();
    expect(await renewal).toBe('failed:declined');
    // auto-renew (2) and remind-after (4): the reminder's mark is not overwritten by the state read before the charge.
    expect(await store.get(sql`SELECT done_mask FROM subscriptions WHERE id = 'S-declined'`)).toEqual({ done_mask: 6 });
  });

  it("an operator's renewal charged while another operator cancels is refused, its payment flagged for a refund", async () => {
    const { store, operator } = await start();
    await seed(store, [{ id: 'S-manual', anniversary: addDays(today, -5), method: 'credit_card' }]);
    const paused = createPausedGateway({ status: 'paid', reference: 'ch_2' });
    const renewal = renewSubscription({ ...operator, gateway: paused.gateway }, 'S-manual', today);
    renewal.catch(() => undefined); // settled below, after the cancellation
    await Promise.race([paused.isCharging, renewal]);
    await cancelSubscription(operator, 'S-manual', 'T-10', today);
    paused.release();
    await expect(renewal).rejects.toMatchObject({ rule: 'R11', message: expect.stringMatching(/^S-manual changed while invoice INV-2019-\d+ was charged: it was cancelled meanwhile .*refund invoice/) });
    expect(await store.get(sql`SELECT status, anniversary_on FROM subscriptions`)).toEqual({ status: 'cancelled', anniversary_on: addDays(today, -5) });
    expect(await store.get(sql`SELECT status FROM invoices`)).toEqual({ status: 'paid' });
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM actions WHERE action = 'renew'`)).toBe(0);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM audit_events WHERE event = 'refund-due'`)).toBe(1);
  });

  it('invoices issued at once get distinct numbers with no gap, a rolled-back one freeing its number', async () => {
    const { store } = await start();
    const issue = (tx: Executor, id: string) =>
      createInvoice(tx, { subscriptionId: id, anniversary: today, purpose: 'renewal', offer: 'action_pack', amountMinor: 100, currency: 'USD', method: 'credit_card', renewsTo: addDays(today, 365), issuedOn: today, at: now() });
    await expect(store.transaction(async (tx) => {
      await issue(tx, 'X-0');
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    const numbers = await Promise.all(['X-1', 'X-2', 'X-3', 'X-4'].map((id) => store.transaction((tx) => issue(tx, id))));
    expect(numbers.map((invoice) => invoice.number).sort()).toEqual(['INV-2019-000001', 'INV-2019-000002', 'INV-2019-000003', 'INV-2019-000004']);
  });

  it('written events are queued once committed; a redelivery marks a range pending again', async () => {
    const { store, operator, added } = await start();
    await seed(store, [{ id: 'S-cancel', anniversary: addDays(today, 5), method: null }]);
    await cancelSubscription(operator, 'S-cancel', 'T-2', today);
    const queue = createRecordingQueue(added);
    await flushWrittenEvents(queue, config, store);
    const queued = added.filter((job) => job.name === 'deliver-events');
    expect(queued).toHaveLength(1);
    expect(queued[0]!.data.eventIds).toHaveLength(1);
    await store.run(sql`UPDATE events SET status = 'delivered'`);
    expect(await redeliverEvents(queue, config, store, 1, 5)).toEqual(queued[0]!.data.eventIds!);
    expect(await store.get(sql`SELECT status FROM events`)).toEqual({ status: 'pending' });
  });
});
