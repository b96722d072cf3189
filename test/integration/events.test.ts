import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { flushWrittenEvents, redeliverEvents, waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { cancelSubscription, confirmPayment, reactivateSubscription, renewSubscription, type OperatorDeps } from '../../src/operator/actions.js';
import { addDays } from '../../src/policy/dates.js';
import type { Runtime } from '../../src/runtime.js';
import { dropWrittenEvents } from '../../src/store/events.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';
import { useAdminWorlds, type AdminHarness } from '../helpers/admin.js';
import { runLifecycle } from '../helpers/cli.js';
import type { World } from '../helpers/world.js';

const servers = useAdminWorlds();
let receiver: WebhookReceiver;
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const token = 'events-test-admin-token-0123456789';

async function start(today: string): Promise<{ w: World; runtime: Runtime; api: AdminHarness }> {
  receiver = servers.closeAfterTest(await startWebhookReceiver(secret));
  const { w, api } = await servers.start({ EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: secret, ADMIN_TOKEN: token }, today);
  return { w, runtime: api.runtime, api };
}

function operatorDeps(w: World, runtime: Runtime): OperatorDeps {
  return { store: w.store, config: w.config, gateway: runtime.deps.gateway, now: () => new Date(), operator: 'events-test' };
}

async function scanOn(w: World, runtime: Runtime, day: string): Promise<void> {
  w.today = day;
  await runScan(runtime.deps, { trigger: 'operator', asOf: day });
  await waitUntilIdle(runtime.queues.actions);
}

function countEvents(w: World, where = '1 = 1'): number {
  return w.store.connection.prepare(`SELECT COUNT(*) FROM events WHERE ${where}`).pluck().get() as number;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const A = '2019-09-01';
const season = [
  { id: 'E-card', anniversaryOn: A, autoRenew: true, token: 'tok_visa' },
  { id: 'E-bank', anniversaryOn: A, autoRenew: true, bankTransfer: true },
  { id: 'E-bank-cancel', anniversaryOn: A, autoRenew: true, bankTransfer: true },
  { id: 'E-declined', anniversaryOn: A, autoRenew: true, token: 'tok_chargeDeclined' },
  { id: 'E-nobody', anniversaryOn: A, partnerId: 'P-empty' },
];
const partners = [{ id: 'P-1' }, { id: 'P-empty', contacts: 0 }];

/** Reminders, auto-renewals (paid, pending, declined), an operator's confirmation and cancellation, lapses. */
async function runSeason(w: World, runtime: Runtime): Promise<void> {
  await w.import(season, partners);
  await scanOn(w, runtime, addDays(A, -15));
  await scanOn(w, runtime, A);
  const deps = operatorDeps(w, runtime);
  const pending = (id: string) => w.store.connection.prepare("SELECT number FROM invoices WHERE subscription_id = ? AND status = 'pending'").pluck().get(id) as string;
  await confirmPayment(deps, pending('E-bank'), addDays(A, 3));
  await cancelSubscription(deps, 'E-bank-cancel', 'T-42', addDays(A, 3));
  await flushWrittenEvents(runtime.queues.actions, w.config, w.store);
  await scanOn(w, runtime, addDays(A, 23));
  await scanOn(w, runtime, addDays(A, 31));
}

describe('lifecycle events to a Standard Webhooks receiver, through real workers', () => {
  it('a season sends every event type signed and verifiable, once each, and the feed serves them in order', async () => {
    const { w, runtime, api } = await start(A);
    await runSeason(w, runtime);
    await waitFor(() => countEvents(w, "status <> 'delivered'") === 0, 'every event delivered');

    expect(receiver.refusedSignatures).toEqual([]);
    const byType = (type: string) => receiver.deliveries.filter((d) => d.type === type).map((d) => d.body.data);
    expect(new Set(receiver.deliveries.map((d) => d.type))).toEqual(
      new Set(['notice.sent', 'notice.undeliverable', 'subscription.renewed', 'subscription.renewal_pending', 'subscription.renewal_failed',
        'subscription.lapsed', 'subscription.cancelled', 'invoice.paid', 'invoice.voided']),
    );
    // At least once, and here exactly once: one delivery per event, each with its own webhook-id.
    expect(receiver.deliveries).toHaveLength(countEvents(w));
    expect(new Set(receiver.deliveries.map((d) => d.id)).size).toBe(receiver.deliveries.length);
    expect(receiver.deliveries.every((d) => /^evt_[A-Za-z0-9_-]+$/.test(d.id))).toBe(true);

    expect(byType('subscription.renewed')).toEqual(
      expect.arrayContaining([
        { subscription: 'E-card', partner: 'P-1', anniversary: A, action: 'auto-renew', newAnniversary: '2020-09-01', invoice: { number: expect.stringMatching(/^INV-2019-/), amount: '475.00', currency: 'USD', status: 'paid' } },
        expect.objectContaining({ subscription: 'E-bank', action: 'renew', newAnniversary: '2020-09-01', invoice: expect.objectContaining({ status: 'paid' }) }),
      ]),
    );
    expect(byType('invoice.paid').map((d) => d.subscription).sort()).toEqual(['E-bank', 'E-card']);
    expect(byType('subscription.renewal_pending').map((d) => [d.subscription, (d.invoice as { status: string }).status]).sort()).toEqual([
      ['E-bank', 'pending'],
      ['E-bank-cancel', 'pending'],
    ]);
    expect(byType('subscription.renewal_failed')).toEqual([expect.objectContaining({ subscription: 'E-declined', action: 'auto-renew', reason: 'declined' })]);
    expect(byType('subscription.cancelled')).toEqual([expect.objectContaining({ subscription: 'E-bank-cancel', ticket: 'T-42' })]);
    expect(byType('invoice.voided')).toEqual([expect.objectContaining({ subscription: 'E-bank-cancel', invoice: expect.objectContaining({ status: 'void' }) })]);
    expect(byType('subscription.lapsed').map((d) => [d.subscription, d.lapsedOn]).sort()).toEqual([
      ['E-declined', '2019-10-02'],
      ['E-nobody', '2019-10-02'],
    ]);
    expect(byType('notice.undeliverable').map((d) => (d.notice as { kind: string }).kind).sort()).toEqual(['lapsed', 'remind-after', 'remind-before']);
    expect(byType('notice.sent')).toContainEqual(
      expect.objectContaining({ subscription: 'E-card', notice: { kind: 'auto-renew-receipt', messageId: `<auto-renew-receipt.E-card.${A}@${w.config.mailDomain}>` } }),
    );

    // The feed: the same events in order, paged with the cursor.
    const pages: { id: string; eventId: string; type: string; delivery: { status: string } }[][] = [];
    let after = '0';
    for (;;) {
      const reply = await api.call('GET', `/api/events?after=${after}&limit=7`, { token });
      expect(reply.status).toBe(200);
      if (reply.json.events.length === 0) break;
      pages.push(reply.json.events);
      after = reply.json.next;
    }
    const feed = pages.flat();
    expect(pages[0]).toHaveLength(7);
    expect(feed.map((e) => Number(e.id))).toEqual([...feed.map((e) => Number(e.id))].sort((a, b) => a - b));
    expect(feed).toHaveLength(countEvents(w));
    expect(new Set(feed.map((e) => e.eventId))).toEqual(new Set(receiver.deliveries.map((d) => d.id)));
    expect(feed.every((e) => e.delivery.status === 'delivered')).toBe(true);
    // The body served is the body delivered.
    const first = receiver.deliveries.find((d) => d.id === feed[0]!.eventId)!;
    expect({ type: feed[0]!.type, timestamp: (feed[0] as unknown as { timestamp: string }).timestamp, data: (feed[0] as unknown as { data: unknown }).data }).toEqual(first.body);
    expect((await api.call('GET', '/api/events?status=failed', { token })).json.events).toEqual([]);

    // An operator's redelivery of a range: the same webhook-ids arrive again.
    const before = receiver.deliveries.length;
    const redeliver = await api.call('POST', '/api/events/redeliver', { token, body: { from: Number(feed[0]!.id), to: Number(feed[2]!.id) } });
    expect(redeliver.json).toEqual({ from: Number(feed[0]!.id), to: Number(feed[2]!.id), queued: 3 });
    await waitFor(() => receiver.deliveries.length === before + 3 && countEvents(w, "status <> 'delivered'") === 0, 'the redelivery');
    expect(receiver.deliveries.slice(before).map((d) => d.id).sort()).toEqual(feed.slice(0, 3).map((e) => e.eventId).sort());
  }, 60_000);

  it('a lapse voids the pending renewal invoice, and a reactivation under the 2020 exception is paid: each is an event', async () => {
    const A2020 = '2020-03-10'; // covid-19-2020: a lapsed competency may be reactivated until 2020-06-30
    const { w, runtime } = await start('2020-03-20');
    await w.import([{ id: 'E-react', anniversaryOn: A2020, offer: 'competency', bankTransfer: true }]);
    const renewal = await renewSubscription(operatorDeps(w, runtime), 'E-react', '2020-03-20');
    expect(renewal.outcome).toBe('pending-payment');
    await flushWrittenEvents(runtime.queues.actions, w.config, w.store);
    await scanOn(w, runtime, '2020-04-10');
    w.store.connection.prepare("UPDATE subscriptions SET payment_method = 'credit_card', payment_token = 'tok_visa' WHERE id = 'E-react'").run();
    const reactivation = await reactivateSubscription(operatorDeps(w, runtime), 'E-react', '2020-05-04');
    expect(reactivation.outcome).toBe('reactivated');
    await flushWrittenEvents(runtime.queues.actions, w.config, w.store);
    await waitFor(() => countEvents(w, "status <> 'delivered'") === 0 && receiver.acknowledged().length === countEvents(w), 'every event delivered');
    const lifecycle = receiver.deliveries.filter((d) => !d.type.startsWith('notice.'));
    expect(lifecycle.map((d) => [d.type, d.body.data.action ?? d.body.data.reason]).sort()).toEqual([
      ['invoice.paid', 'reactivate'],
      ['invoice.voided', 'lapsed before payment'],
      ['subscription.lapsed', 'lapse'],
      ['subscription.reactivated', 'reactivate'],
      ['subscription.renewal_pending', 'renew'],
    ]);
    expect(lifecycle.find((d) => d.type === 'subscription.reactivated')!.body.data).toMatchObject({
      subscription: 'E-react',
      anniversary: A2020,
      newAnniversary: expect.stringMatching(/^2021-/),
      invoice: { status: 'paid', number: reactivation.invoice },
    });
    expect(receiver.refusedSignatures).toEqual([]);
  }, 60_000);

  it('a receiver down for a stretch gets everything afterwards, each webhook-id retried until acknowledged', async () => {
    const { w, runtime } = await start(A);
    receiver.state.mode = 'down';
    await w.import(season.slice(0, 4), partners);
    w.today = A;
    await runScan(runtime.deps, { trigger: 'operator', asOf: A });
    await waitFor(() => countEvents(w) > 0 && countEvents(w, 'attempts < 3') === 0, 'every event refused three times');
    expect(countEvents(w, "status = 'delivered'")).toBe(0);
    expect(receiver.acknowledged()).toEqual([]);
    receiver.state.mode = 'up';
    await waitFor(() => countEvents(w, "status <> 'delivered'") === 0, 'every event delivered once the receiver is back');
    await waitUntilIdle(runtime.queues.actions);
    const ids = w.store.connection.prepare('SELECT event_id FROM events ORDER BY id').pluck().all() as string[];
    expect(receiver.acknowledged().map((d) => d.id).sort()).toEqual([...ids].sort());
    // Each was refused before, under the same webhook-id.
    for (const id of ids) expect(receiver.deliveries.filter((d) => d.id === id && d.status === 503).length).toBeGreaterThanOrEqual(2);
    expect(receiver.refusedSignatures).toEqual([]);
  }, 60_000);

  it('an event written by a process that dies before queuing it is delivered by the next scan', async () => {
    const { w, runtime } = await start(A);
    await w.import([{ id: 'E-crash', anniversaryOn: addDays(A, 10) }]);
    await cancelSubscription(operatorDeps(w, runtime), 'E-crash', 'T-7', A);
    dropWrittenEvents(); // what a SIGKILL after the commit and before the enqueue leaves: no job
    expect(countEvents(w, "status = 'pending' AND type = 'subscription.cancelled'")).toBe(1);
    // What operators see meanwhile: `status` counts it pending, and a failure with its reason.
    w.store.connection.prepare("INSERT INTO events (event_id, type, occurred_at, data, status, attempts, last_error) VALUES ('evt_old', 'notice.sent', ?, '{}', 'failed', 40, 'the receiver answered 503')").run(new Date().toISOString());
    const env = { REDIS_URL: servers.redis.url, QUEUE_PREFIX: w.prefix, EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: secret };
    const status = await runLifecycle(['status'], { dataDir: w.dir, env });
    expect(status.stdout).toContain('events         pending 1, delivered 0, failed 1\n');
    expect(status.stdout).toMatch(/failed {2}#2 notice\.sent {2}after 40 attempts: the receiver answered 503/);
    expect(status.stdout).not.toContain(secret);
    await scanOn(w, runtime, A);
    await waitFor(() => countEvents(w, "status = 'delivered'") === 2, 'the cancellation delivered, and the failed event again');
    expect(receiver.acknowledged().map((d) => [d.type, d.body.data.subscription])).toEqual([
      ['subscription.cancelled', 'E-crash'],
      ['notice.sent', undefined],
    ]);
    // `lifecycle events redeliver`: the same webhook-id again; bad ranges change nothing.
    const cancelled = receiver.acknowledged()[0]!.id;
    const bad = await runLifecycle(['events', 'redeliver', '5', 'x'], { dataDir: w.dir, env });
    expect({ code: bad.status, stderr: bad.stderr }).toEqual({
      code: 1,
      stderr: "error: TO x: expected an event id (a whole number from 1, the feed's id)\nerror: nothing redelivered\n",
    });
    const again = await runLifecycle(['events', 'redeliver', '1'], { dataDir: w.dir, env });
    expect({ code: again.status, stdout: again.stdout }).toEqual({ code: 0, stdout: '1 event(s) queued for redelivery (1…1); the daemon sends them\n' });
    await waitFor(() => receiver.acknowledged().length === 3, 'the redelivery');
    expect(receiver.acknowledged()[2]!.id).toBe(cancelled);
  }, 60_000);

  it('an import that corrects the first anniversary of a lapsed subscription reactivates it: an event, sent by the next scan', async () => {
    const { w, runtime } = await start(A);
    await w.import([{ id: 'E-imp', anniversaryOn: A }]);
    await scanOn(w, runtime, addDays(A, 31));
    await w.import([{ id: 'E-imp', anniversaryOn: '2019-12-01' }]);
    await scanOn(w, runtime, addDays(A, 32));
    await waitFor(() => countEvents(w, "status <> 'delivered'") === 0, 'every event delivered');
    const lifecycle = receiver.acknowledged().filter((d) => d.type.startsWith('subscription.'));
    expect(lifecycle.map((d) => [d.type, d.body.data.action, d.body.data.newAnniversary])).toEqual([
      ['subscription.lapsed', 'lapse', undefined],
      ['subscription.reactivated', 'import', '2019-12-01'],
    ]);
  }, 60_000);

  it('redelivery is refused without EVENTS_WEBHOOK_URL; the feed still serves the events', async () => {
    const { w, api: harness } = await servers.start({ ADMIN_TOKEN: token }, A);
    await w.import([{ id: 'E-quiet', anniversaryOn: addDays(A, 10) }]);
    await cancelSubscription(operatorDeps(w, harness.runtime), 'E-quiet', 'T-8', A);
    const feed = await harness.call('GET', '/api/events', { token });
    expect(feed.json).toEqual({
      events: [expect.objectContaining({ id: '1', type: 'subscription.cancelled', delivery: expect.objectContaining({ status: 'pending', attempts: 0 }) })],
      next: '1',
    });
    expect((await harness.call('GET', '/api/events?after=1', { token })).json).toEqual({ events: [], next: '1' });
    const refused = await harness.call('POST', '/api/events/redeliver', { token, body: { from: 1 } });
    expect(refused.status).toBe(409);
    expect((await harness.call('GET', '/api/events?after=x', { token })).status).toBe(400);
  }, 30_000);
});
