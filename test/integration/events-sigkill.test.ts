import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { addDays, todayIn } from '../../src/policy/dates.js';
import { databaseFile } from '../../src/store/db.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';
import { runLifecycle } from '../helpers/cli.js';
import { isAlive, readHealth, reapDaemons, spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { findFreePort } from '../helpers/redis.js';
import { writeDataset } from '../helpers/world.js';

/*
 * SPEC §8's promise, with real processes: the daemon is SIGKILLed while the events it wrote are
 * not yet delivered (the receiver refuses them, or holds its answers), a new daemon starts on the
 * same data dir, and every event written arrives, under its own webhook-id, signed.
 */

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const dirs: string[] = [];
const receivers: WebhookReceiver[] = [];
const databases: Database.Database[] = [];

afterEach(async () => {
  for (const db of databases.splice(0)) db.close();
  await reapDaemons();
  for (const receiver of receivers.splice(0)) await receiver.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function acknowledgedIds(receiver: WebhookReceiver): Set<string> {
  return new Set(receiver.acknowledged().map((d) => d.id));
}

/** Polls a condition with a generous deadline (a loaded 2-core machine), saying what it waited for. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface EventLine {
  event_id: string;
  type: string;
  status: string;
  attempts: number;
}

/**
 * A season in one program day, so the daemon's own clock (it chains each subscription's next
 * action as of today) agrees with the scan: a reminder, auto-renewals paid, pending and declined,
 * a lapse with nobody to tell, and an operator's cancellation of the pending one.
 */
async function startSeason(receiver: WebhookReceiver, options: { jobLockMs: number }) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-events-kill-'));
  dirs.push(dataDir);
  const today = todayIn('UTC', new Date());
  const env = {
    PAYMENT_GATEWAY: 'test',
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: secret,
    JOB_BACKOFF_MS: '100',
    JOB_LOCK_MS: String(options.jobLockMs),
    HTTP_TIMEOUT_MS: '120000',
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
  const adminPort = await findFreePort();
  const daemon = spawnDaemon(dataDir, { ...env, ADMIN_PORT: String(adminPort) });
  await waitFor(async () => (await readHealth(adminPort)) === 200, () => `the first daemon's /healthz\n${daemon.stderr}`);
  // The database exists once the daemon answers; the test reads it as an operator's sqlite3 would.
  const db = new Database(databaseFile(dataDir), { readonly: true, fileMustExist: true });
  databases.push(db);
  const events = () => db.prepare('SELECT event_id, type, status, attempts FROM events ORDER BY id').all() as EventLine[];
  const ledger = () => db.prepare('SELECT subscription_id AS s, action AS a FROM actions').all() as { s: string; a: string }[];

  const file = writeDataset(
    dataDir,
    [
      { id: 'K-remind', anniversaryOn: addDays(today, 10) },
      { id: 'K-card', anniversaryOn: today, autoRenew: true, token: 'tok_visa' },
      { id: 'K-bank', anniversaryOn: today, autoRenew: true, bankTransfer: true },
      { id: 'K-declined', anniversaryOn: today, autoRenew: true, token: 'tok_chargeDeclined' },
      { id: 'K-lapse', anniversaryOn: addDays(today, -31), partnerId: 'P-empty' },
    ],
    [{ id: 'P-1' }, { id: 'P-empty', contacts: 0 }],
  );
  const imported = await runLifecycle(['import', file], { dataDir, env, timeoutMs: 60_000 });
  expect(imported.status, imported.stderr).toBe(0);
  const scan = await runLifecycle(['scan'], { dataDir, env, timeoutMs: 120_000 });
  expect(scan.status, scan.stderr).toBe(0);
  return { dataDir, env, daemon, events, ledger, today };
}

/** The operator's cancellation of the pending bank transfer, once its auto-renewal is in the ledger. */
async function cancelPending(season: Awaited<ReturnType<typeof startSeason>>): Promise<void> {
  await waitFor(
    () => season.ledger().some((row) => row.s === 'K-bank' && row.a === 'auto-renew'),
    () => `K-bank's auto-renewal\n${season.daemon.stderr}`,
  );
  const cancelled = await runLifecycle(['cancel', 'K-bank', '--ticket', 'T-9'], { dataDir: season.dataDir, env: season.env, timeoutMs: 60_000 });
  expect(cancelled.status, cancelled.stderr).toBe(0);
}

async function kill(daemon: DaemonProcess): Promise<void> {
  const redisPid = daemon.redisPid();
  const exited = once(daemon.child, 'exit');
  daemon.child.kill('SIGKILL');
  await exited;
  // Its private redis-server stops once its watchdog sees the daemon gone; the next daemon
  // starts its own on the same append-only file.
  if (redisPid !== null) await waitFor(() => !isAlive(redisPid), () => `redis-server ${redisPid} to stop after its daemon`);
}

/** A new daemon on the same data dir, receiver up: waits until every event written is acknowledged. */
async function restartAndDrain(season: Awaited<ReturnType<typeof startSeason>>, receiver: WebhookReceiver): Promise<DaemonProcess> {
  const adminPort = await findFreePort();
  const next = spawnDaemon(season.dataDir, { ...season.env, ADMIN_PORT: String(adminPort) });
  await waitFor(async () => (await readHealth(adminPort)) === 200, () => `the second daemon's /healthz\n${next.stderr}`);
  await waitFor(
    () => {
      const written = season.events();
      const acknowledged = acknowledgedIds(receiver);
      return written.every((e) => e.status === 'delivered' && acknowledged.has(e.event_id));
    },
    () => {
      const acknowledged = acknowledgedIds(receiver);
      const missing = season.events().filter((e) => e.status !== 'delivered' || !acknowledged.has(e.event_id));
      return `every event delivered after the restart; still missing: ${JSON.stringify(missing)}\n${next.stderr}`;
    },
    120_000,
  );
  return next;
}

function expectEveryEventArrived(season: Awaited<ReturnType<typeof startSeason>>, receiver: WebhookReceiver): void {
  const written = season.events();
  expect(receiver.refusedSignatures).toEqual([]);
  // The set of webhook-ids acknowledged is the events table: nothing lost, nothing invented.
  expect([...acknowledgedIds(receiver)].sort()).toEqual(written.map((e) => e.event_id).sort());
  // Each delivery carries its event's type under its webhook-id.
  const typeOf = new Map(written.map((e) => [e.event_id, e.type]));
  for (const delivery of receiver.deliveries) expect(delivery.type).toBe(typeOf.get(delivery.id));
}

describe('a SIGKILLed daemon loses no event (real processes, real receiver)', () => {
  it('events refused by a receiver that is down are all delivered by the next daemon once it is back', async () => {
    const receiver = await startWebhookReceiver(secret);
    receivers.push(receiver);
    receiver.state.mode = 'down';
    const season = await startSeason(receiver, { jobLockMs: 2_000 });
    await cancelPending(season);
    // Killed once the whole season is written and every event was tried and refused at least once.
    const types = ['notice.sent', 'notice.undeliverable', 'subscription.renewed', 'invoice.paid', 'subscription.renewal_pending',
      'subscription.renewal_failed', 'subscription.lapsed', 'subscription.cancelled', 'invoice.voided'];
    await waitFor(
      () => {
        const written = season.events();
        return types.every((type) => written.some((e) => e.type === type)) && written.every((e) => e.attempts >= 1);
      },
      () => `the season's events, each refused once: ${JSON.stringify(season.events())}\n${season.daemon.stderr}`,
    );
    const atKill = season.events();
    await kill(season.daemon);
    const answeredBeforeKill = receiver.deliveries.length;
    expect(atKill.filter((e) => e.status === 'delivered')).toEqual([]);
    expect(receiver.acknowledged()).toEqual([]);

    receiver.state.mode = 'up';
    await restartAndDrain(season, receiver);
    expectEveryEventArrived(season, receiver);
    // Each was refused before the kill under the same webhook-id it was acknowledged with after.
    const [beforeKill, afterKill] = [receiver.deliveries.slice(0, answeredBeforeKill), receiver.deliveries.slice(answeredBeforeKill)];
    for (const { event_id } of atKill) {
      expect(beforeKill.some((d) => d.id === event_id && d.status === 503)).toBe(true);
      expect(afterKill.some((d) => d.id === event_id && d.status === 204)).toBe(true);
    }
  }, 300_000);

  it('events in flight to a receiver holding its answers are sent again by the next daemon, under the same webhook-ids', async () => {
    const receiver = await startWebhookReceiver(secret);
    receivers.push(receiver);
    receiver.state.mode = 'hold';
    // A short lock: the next daemon takes over the killed one's running deliveries soon after it starts.
    const season = await startSeason(receiver, { jobLockMs: 3_000 });
    await cancelPending(season);
    // Killed mid-flight: requests sent, answers held, nothing acknowledged.
    await waitFor(
      () => receiver.held.length === 3 && season.events().some((e) => e.type === 'subscription.cancelled'),
      () => `requests held in flight (${receiver.held.length}) and the cancellation written\n${season.daemon.stderr}`,
    );
    const inFlight = new Set(receiver.held.map((h) => h.id));
    await kill(season.daemon);
    const atKill = season.events();
    expect(atKill.filter((e) => e.status === 'delivered')).toEqual([]);
    expect(atKill.filter((e) => inFlight.has(e.event_id)).every((e) => e.attempts >= 1)).toBe(true);
    receiver.dropHeld();

    receiver.state.mode = 'up';
    await restartAndDrain(season, receiver);
    expectEveryEventArrived(season, receiver);
    // The requests cut by the kill were delivered again, under their own webhook-ids.
    for (const id of inFlight) expect(acknowledgedIds(receiver).has(id)).toBe(true);
  }, 300_000);
});
