import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importFile } from '../../src/import/import-file.js';
import { actionQueueName } from '../../src/jobs/queues.js';
import { addDays, todayIn } from '../../src/policy/dates.js';
import { connectStore } from '../../src/store/db.js';
import type { Store } from '../../src/store/executor.js';
import { isPostgresTested } from '../../support/postgres.js';
import { postgresBinDir, startPostgresServer, type PostgresServer } from '../../support/postgres-server.js';
import { reapDaemons, spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { findFreePort, startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { writeDataset } from '../helpers/world.js';

/**
 * Two `lifecycle start` processes, each with its own data dir, on one PostgreSQL database and one
 * redis-server, as a deployment runs them. A burst of due reminders, then a fault in the middle of
 * it: every due action is taken once, one daily scan runs, no job is left failed. The PostgreSQL
 * server is the test's own (a temp dir), so it may be restarted: the machine's server is never touched.
 */
const isRunnable = (await isPostgresTested()) && (postgresBinDir !== null || process.env.CI === 'true');
if (!isRunnable && (await isPostgresTested())) process.stderr.write('postgres-daemons: skipped, no PostgreSQL server binaries under /usr/lib/postgresql\n');

const burst = 200;
const concurrency = 4;
let server: PostgresServer;
let redis: TestRedis;
let smtp: SmtpTestServer;
const dirs: string[] = [];
const stores: Store[] = [];

describe.skipIf(!isRunnable)('two daemon processes on one PostgreSQL database', () => {
  beforeAll(async () => {
    [server, redis, smtp] = await Promise.all([findFreePort().then(startPostgresServer), startTestRedis(), startSmtpServer()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.stop(), redis?.stop(), smtp?.stop()]);
  });
  afterEach(async () => {
    await reapDaemons();
    for (const store of stores.splice(0)) await store.close().catch(() => {});
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A new database on the test's server holding `burst` subscriptions whose reminder is due today. */
  async function setUp(name: string, idPrefix: string) {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = server.url.replace(/\/postgres$/, `/${name}`);
    const store = await connectStore({ url });
    stores.push(store);
    const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-pgd-'));
    dirs.push(dir);
    // The daemons' clock is the real one: the data is due today.
    const today = todayIn('UTC', new Date());
    const ids = Array.from({ length: burst }, (_, i) => `${idPrefix}${String(i).padStart(3, '0')}`);
    await importFile(store, writeDataset(dir, ids.map((id) => ({ id, anniversaryOn: addDays(today, 7) }))), new Date());
    const prefix = `pgd${process.pid}${name}`;
    const env = {
      DATABASE_URL: url,
      REDIS_URL: redis.url,
      SMTP_URL: smtp.url,
      QUEUE_PREFIX: prefix,
      ADMIN_PORT: '0',
      JOB_LOCK_MS: '1500',
      JOB_BACKOFF_MS: '200',
      WORKER_CONCURRENCY: String(concurrency),
      SHUTDOWN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
    };
    const start = (): DaemonProcess => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-pgd-data-'));
      dirs.push(dataDir);
      return spawnDaemon(dataDir, env);
    };
    const received = () => smtp.messages.filter((m) => String(m.headers.get('x-lifecycle-subscription')).startsWith(idPrefix)).map((m) => m.messageId!);
    const sent = async () =>
      Number((await store.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM notices WHERE status = 'sent'`))?.n ?? 0);
    return { store, today, prefix, start, received, sent };
  }

  async function failedJobs(prefix: string): Promise<number> {
    const url = new URL(redis.url);
    const queue = new Queue(actionQueueName, { connection: { host: url.hostname, port: Number(url.port) }, prefix });
    try {
      return (await queue.getJobCounts('failed')).failed ?? 0;
    } finally {
      await queue.close();
    }
  }

  /** Every due action once in the ledger and at the SMTP server (by Message-ID), one daily scan, no failed job. */
  async function expectEachActionOnce(world: Awaited<ReturnType<typeof setUp>>, daemons: DaemonProcess[]) {
    const { store, today, prefix, received } = world;
    const ledger = await store.all<{ subscription_id: string; action: string; outcome: string }>(
      sql`SELECT subscription_id, action, outcome FROM actions ORDER BY subscription_id`,
    );
    expect(ledger).toHaveLength(burst);
    expect(new Set(ledger.map((r) => r.subscription_id)).size).toBe(burst);
    expect(new Set(ledger.map((r) => `${r.action}:${r.outcome}`))).toEqual(new Set(['remind-before:sent']));
    const notices = await store.get<{ n: number; ids: number }>(sql`SELECT COUNT(*) AS n, COUNT(DISTINCT message_id) AS ids FROM notices WHERE status = 'sent'`);
    expect(notices).toEqual({ n: burst, ids: burst });

    const counts = new Map<string, number>();
    for (const id of received()) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(burst); // none lost
    // A second copy is possible only for a message in flight at a fault (SMTP accepted it, the
    // daemon died or lost its database before recording it): at most one per concurrent job of each daemon.
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(concurrency * daemons.length);
    const retried = Number((await store.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM notices WHERE attempts > 1`))?.n ?? 0);
    expect(duplicates).toBeLessThanOrEqual(retried); // and each shows as a second attempt

    const daily = await store.all<{ as_of: string; status: string }>(sql`SELECT as_of, status FROM scan_runs WHERE "trigger" = 'daily'`);
    expect(daily).toEqual([{ as_of: today, status: 'done' }]);
    expect(await failedJobs(prefix)).toBe(0);
  }

  it('one daemon killed with SIGKILL mid-burst: the other takes over, every due action once, one daily scan', async () => {
    const world = await setUp('pgd_kill', 'PK-');
    const [a, b] = [world.start(), world.start()];
    await expect.poll(() => world.received().length, { timeout: 60_000, interval: 10 }).toBeGreaterThanOrEqual(30);
    expect(await world.sent()).toBeLessThan(burst); // killed in the middle of the burst
    a.child.kill('SIGKILL');

    await expect.poll(world.sent, { timeout: 90_000, interval: 200 }).toBe(burst);
    expect(b.child.exitCode, b.stderr).toBeNull();
    const { code } = await b.stop();
    expect(code, b.stderr).toBe(0);
    await expectEachActionOnce(world, [a, b]);
  }, 180_000);

  it('PostgreSQL restarted mid-burst: both daemons ride it out, every due action once, one daily scan', async () => {
    const world = await setUp('pgd_restart', 'PR-');
    const daemons = [world.start(), world.start()];
    await expect.poll(() => world.received().length, { timeout: 60_000, interval: 10 }).toBeGreaterThanOrEqual(30);
    expect(await world.sent()).toBeLessThan(burst); // restarted in the middle of the burst
    await server.restart();

    await expect.poll(world.sent, { timeout: 90_000, interval: 200 }).toBe(burst);
    for (const daemon of daemons) {
      expect(daemon.child.exitCode, daemon.stderr).toBeNull();
      const { code } = await daemon.stop();
      expect(code, daemon.stderr).toBe(0);
    }
    await expectEachActionOnce(world, daemons);
  }, 180_000);
});
