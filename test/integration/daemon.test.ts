import { afterEach, describe, expect, it } from 'vitest';
import { createTestGateway, type PaymentGateway } from '../../src/billing/gateway.js';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { cancelSubscription, confirmPayment, renewSubscription } from '../../src/operator/actions.js';
import { addDays } from '../../src/policy/dates.js';
import { sql } from 'drizzle-orm';
import type { Store as AnyStore } from '../../src/store/executor.js';
import { storeBackends, type StoreBackend } from '../../support/backends.js';
import { useWorlds, type World } from '../helpers/world.js';
import { runLifecycle } from '../helpers/cli.js';

const D = '2019-09-30';

const worlds = useWorlds();
afterEach(() => worlds.smtp.setRejecting(undefined));
/** Messages before this index arrived in earlier tests (the SMTP server is the file's). */
let firstMessage = 0;

async function newWorld(today = D, backend?: StoreBackend, env: Record<string, string> = {}): Promise<World<AnyStore>> {
  firstMessage = worlds.smtp.messages.length;
  return worlds.create(env, today, backend);
}

function received(subscriptionPrefix: string) {
  return worlds.smtp.messages.slice(firstMessage).filter((m) => String(m.headers.get('x-lifecycle-subscription')).startsWith(subscriptionPrefix));
}

function operatorDeps(w: World<AnyStore>) {
  return { store: w.store, config: w.config, gateway: createTestGateway(), now: () => new Date(), operator: 'test' };
}

// The scenarios whose correctness rests on the store's keys and transactions run on every backend.
describe.each(await storeBackends())('scan and jobs on a real Redis and SMTP server, the store on $name', (backend) => {
  it('scanning the same day twice adds no job and no effect', async () => {
    const w = await newWorld(D, backend);
    const ids = ['A1-1', 'A1-2', 'A1-3'];
    await w.import(ids.map((id) => ({ id, anniversaryOn: addDays(D, 10) })));
    const producer = await w.startRuntime({ hasWorkers: false });
    const first = await runScan(producer.deps, { trigger: 'operator', asOf: D });
    const second = await runScan(producer.deps, { trigger: 'operator', asOf: D });
    expect(first.enqueued).toBe(3);
    expect(second.enqueued).toBe(3); // found again…
    expect(await producer.queues.actions.getJobCounts('waiting')).toEqual({ waiting: 3 }); // …but the same job ids

    await w.startRuntime();
    await waitUntilIdle(producer.queues.actions);
    const third = await runScan(producer.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(producer.queues.actions);
    expect(third.due).toBe(0);
    // Jobs run four at a time: the ledger's order is theirs.
    expect((await w.ledger()).map((r) => [r.subscription, r.action, r.outcome]).sort()).toEqual(ids.map((id) => [id, 'remind-before', 'sent']));
    expect(received('A1-')).toHaveLength(3);
  });

  it('a job retried after its effect adds no second effect', async () => {
    const w = await newWorld(addDays(D, 0), backend);
    await w.import([
      { id: 'A2-remind', anniversaryOn: addDays(D, 5) },
      { id: 'A2-renew', anniversaryOn: D, autoRenew: true, token: 'tok_visa' },
    ]);
    let charges = 0;
    const test = createTestGateway();
    const counting: PaymentGateway = { name: 'test', charge: (request) => ((charges += 1), test.charge(request)) };
    // SMTP answers 451 at first: every effect is recorded, every delivery fails and is retried.
    worlds.smtp.setRejecting({ code: 451, message: 'try again later' });
    const runtime = await w.startRuntime({ gateway: counting });
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await expect.poll(() => w.value(sql`SELECT MAX(attempts) FROM notices`), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    worlds.smtp.setRejecting(undefined);
    await waitUntilIdle(runtime.queues.actions);

    expect(charges).toBe(1);
    expect(await w.value(sql`SELECT COUNT(*) FROM invoices WHERE subscription_id = 'A2-renew'`)).toBe(1);
    expect((await w.ledger()).map((r) => [r.subscription, r.action, r.outcome]).sort()).toEqual([
      ['A2-remind', 'remind-before', 'sent'],
      ['A2-renew', 'auto-renew', 'renewed'],
      ['A2-renew', 'remind-before', 'skipped:missed'],
    ]);
    expect(received('A2-').map((m) => m.headers.get('x-lifecycle-notice')).sort()).toEqual(['auto-renew-receipt', 'remind-before']);
  });

  it('a subscription renewed or cancelled between enqueue and run gets no reminder and no lapse', async () => {
    const w = await newWorld(D, backend);
    await w.import([
      { id: 'A3-renewed', anniversaryOn: addDays(D, -23), token: 'tok_visa' }, // remind-after due
      { id: 'A3-cancelled', anniversaryOn: addDays(D, 10) }, // remind-before due
      { id: 'A3-paid', anniversaryOn: addDays(D, -31), autoRenew: true, bankTransfer: true }, // lapse due
    ]);
    const runtime = await w.startRuntime({ hasWorkers: false });
    // The bank transfer's auto-renewal is pending since A; its lapse is due today.
    await w.store.run(sql`UPDATE subscriptions SET done_mask = 7, pending_invoice = 'INV-X' WHERE id = 'A3-paid'`);
    await w.store.run(
      sql`INSERT INTO invoices (number, subscription_id, anniversary_on, purpose, offer, amount_minor, currency, method, status, renews_to, issued_on, created_at, updated_at)
          VALUES ('INV-X', 'A3-paid', ${addDays(D, -31)}, 'auto-renew', 'action_pack', 47500, 'USD', 'bank_transfer', 'pending', ${addDays(D, 334)}, ${addDays(D, -31)}, 'now', 'now')`,
    );
    const scan = await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    expect(scan.enqueued).toBe(3);

    await renewSubscription(operatorDeps(w), 'A3-renewed', D);
    await cancelSubscription(operatorDeps(w), 'A3-cancelled', 'TICKET-1', D);
    // Paid on A + 30, its last day (R5), and confirmed on A + 31 before the lapse job ran.
    await confirmPayment(operatorDeps(w), 'INV-X', addDays(D, -1));
    await w.startRuntime();
    await waitUntilIdle(runtime.queues.actions);

    // Recorded as missed is fine (its range passed before the renewal); taking effect is not.
    const effects = (await w.ledger()).filter((r) => ['sent', 'sending', 'undeliverable', 'lapsed'].includes(r.outcome));
    expect(effects).toEqual([]);
    expect(received('A3-').map((m) => m.headers.get('x-lifecycle-notice'))).not.toContain('remind-after');
    expect(received('A3-').map((m) => m.headers.get('x-lifecycle-notice'))).not.toContain('lapsed');
    expect(await w.value(sql`SELECT status FROM subscriptions WHERE id = 'A3-paid'`)).toBe('active');
  });

  it('a daemon down for 40 days catches up in one scan: in order, nothing stale', async () => {
    const w = await newWorld(addDays(D, -40), backend);
    await w.import([
      { id: 'A4-declined', anniversaryOn: addDays(D, -24), autoRenew: true, token: 'tok_chargeDeclined' },
      { id: 'A4-visa', anniversaryOn: addDays(D, -24), autoRenew: true, token: 'tok_visa' },
      { id: 'A4-lapse', anniversaryOn: addDays(D, -35) },
      { id: 'A4-soon', anniversaryOn: addDays(D, 10) },
    ]);
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: w.today });
    await waitUntilIdle(runtime.queues.actions);
    const before = (await w.ledger()).length;
    const sentBefore = received('A4-').length;

    w.today = D; // 40 days later
    const scan = await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    const after = (await w.ledger()).slice(before);
    const done = (id: string) => after.filter((r) => r.subscription === id).map((r) => `${r.action}:${r.outcome}`);
    expect(done('A4-declined')).toEqual(['remind-before:skipped:missed', 'auto-renew:failed:declined', 'remind-after:sent']);
    expect(done('A4-visa')).toEqual(['remind-before:skipped:missed', 'auto-renew:renewed']);
    expect(done('A4-lapse')).toEqual(['remind-after:skipped:missed', 'lapse:lapsed']);
    expect(done('A4-soon')).toEqual(['remind-before:sent']);
    expect(scan.missed).toBe(3);
    const kinds = received('A4-').slice(sentBefore).map((m) => `${m.headers.get('x-lifecycle-subscription')}:${m.headers.get('x-lifecycle-notice')}`);
    expect(kinds.filter((k) => k.endsWith('remind-before') && !k.startsWith('A4-soon'))).toEqual([]);
    // One subscription's jobs ran in cycle order: the failure notice before the reminder after.
    expect(kinds.filter((k) => k.startsWith('A4-declined'))).toEqual(['A4-declined:auto-renew-failed', 'A4-declined:remind-after']);
  });
});

describe('scan and jobs on a real Redis, SQLite file and SMTP server', () => {
  it('the reminder after of a bank-transfer renewal waiting for payment asks for that invoice by A + 30, not for a renewal (R7, R4)', async () => {
    const A = addDays(D, -23);
    const w = await newWorld(A);
    await w.import([{ id: 'A9-bank', anniversaryOn: A, autoRenew: true, bankTransfer: true }]);
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: A });
    await waitUntilIdle(runtime.queues.actions);
    w.today = D; // A + 23: the payment hasn't arrived
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    const notices = received('A9-bank');
    const issued = notices.find((m) => m.headers.get('x-lifecycle-notice') === 'invoice-pending');
    const reminder = notices.find((m) => m.headers.get('x-lifecycle-notice') === 'remind-after');
    const number = /Invoice (\S+):/.exec(String(issued?.subject))?.[1];
    expect(number).toBeDefined();
    expect(reminder?.text).toContain(`Invoice ${number} of`);
    expect(reminder?.text).toContain('Last day to pay: October 7, 2019'); // A + 30
    expect(reminder?.text).toContain('Pay it by October 7, 2019');
    expect(reminder?.text).not.toContain('Renew now');
  });

  it('with the SMTP server down, notices wait and are retried; none is lost, none doubled', async () => {
    const w = await newWorld();
    const ids = Array.from({ length: 12 }, (_, i) => `A5-${i}`);
    await w.import(ids.map((id) => ({ id, anniversaryOn: addDays(D, 3) })));
    await worlds.smtp.stop();
    const runtime = await w.startRuntime();
    try {
      await runScan(runtime.deps, { trigger: 'operator', asOf: D });
      await expect.poll(() => w.value(sql`SELECT MIN(attempts) FROM notices`), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(await w.value(sql`SELECT COUNT(*) FROM notices WHERE status = 'pending'`)).toBe(12);
    } finally {
      await worlds.smtp.start();
    }
    await waitUntilIdle(runtime.queues.actions);
    const ids5 = received('A5-').map((m) => m.messageId);
    expect(new Set(ids5).size).toBe(12);
    expect(ids5).toHaveLength(12);
    expect(await w.value(sql`SELECT COUNT(*) FROM notices WHERE status = 'sent'`)).toBe(12);
  });

  it('undeliverable notices are recorded, not dropped (R10)', async () => {
    const w = await newWorld();
    await w.import([{ id: 'A6-1', anniversaryOn: addDays(D, 2), partnerId: 'P-none' }], [{ id: 'P-none', contacts: 0 }]);
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    expect((await w.ledger()).map((r) => r.outcome)).toEqual(['undeliverable']);
    expect(await w.value(sql`SELECT status FROM notices WHERE subscription_id = 'A6-1'`)).toBe('undeliverable');
    expect(received('A6-')).toHaveLength(0);
  });

  it('a notice the server refuses for good fails its job visibly; an operator retries it once fixed', async () => {
    const w = await newWorld();
    await w.import([{ id: 'A7-1', anniversaryOn: addDays(D, 5) }]);
    worlds.smtp.setRejecting({ code: 550, message: 'mailbox unavailable' });
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    const env = { REDIS_URL: worlds.redis.url, QUEUE_PREFIX: w.prefix };
    const status = JSON.parse((await runLifecycle(['status', '--json'], { dataDir: w.dir, env })).stdout) as {
      queues: { failedJobs: { id: string; reason: string }[] };
      notices: Record<string, number>;
    };
    expect(status.queues.failedJobs).toEqual([expect.objectContaining({ id: `remind-before.A7-1.${addDays(D, 5)}`, reason: expect.stringContaining('550') })]);
    expect(status.notices).toEqual({ pending: 1 });

    worlds.smtp.setRejecting(undefined);
    const retry = await runLifecycle(['retry', '--all-failed'], { dataDir: w.dir, env });
    expect(retry.stdout).toContain('retried 1 job(s)');
    await waitUntilIdle(runtime.queues.actions);
    expect(received('A7-')).toHaveLength(1);
    expect((await w.ledger()).map((r) => r.outcome)).toEqual(['sent']);
  });

  it('a notice whose job ran out of retries while SMTP was down goes out with the next scan', async () => {
    const w = await newWorld(D, undefined, { JOB_ATTEMPTS: '2' });
    await w.import([{ id: 'A8-1', anniversaryOn: addDays(D, 5) }, { id: 'A8-2', anniversaryOn: addDays(D, -31) }]);
    await worlds.smtp.stop();
    const runtime = await w.startRuntime();
    try {
      await runScan(runtime.deps, { trigger: 'operator', asOf: D });
      await waitUntilIdle(runtime.queues.actions);
      expect(await runtime.queues.actions.getJobCounts('failed')).toEqual({ failed: 2 });
    } finally {
      await worlds.smtp.start();
    }
    w.today = addDays(D, 1);
    const scan = await runScan(runtime.deps, { trigger: 'operator', asOf: w.today });
    expect(scan.redelivered).toBe(2);
    await waitUntilIdle(runtime.queues.actions);
    expect(received('A8-').map((m) => m.headers.get('x-lifecycle-notice')).sort()).toEqual(['lapsed', 'remind-before']);
    expect(await runtime.queues.actions.getJobCounts('failed')).toEqual({ failed: 0 });
    expect((await w.ledger()).map((r) => `${r.subscription} ${r.action} ${r.outcome}`).sort()).toEqual([
      'A8-1 remind-before sent',
      'A8-2 lapse lapsed',
      'A8-2 remind-after skipped:missed',
      'A8-2 remind-before skipped:missed',
    ]);
  });
});
