import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon } from '../../src/daemon.js';
import { importFile } from '../../src/import/import-file.js';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { addDays, todayIn } from '../../src/policy/dates.js';
import { databaseFile, openStore } from '../../src/store/db.js';
import { repoRoot } from '../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { sql } from 'drizzle-orm';
import { storeBackends } from '../../support/backends.js';
import { createWorld, writeDataset } from '../helpers/world.js';

let redis: TestRedis;
let smtp: SmtpTestServer;

beforeAll(async () => {
  [redis, smtp] = await Promise.all([startTestRedis(), startSmtpServer()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), smtp?.stop()]);
});

function countBy<T>(items: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

function messagesFor(prefix: string): string[] {
  return smtp.messages.filter((m) => String(m.headers.get('x-lifecycle-subscription')).startsWith(prefix)).map((m) => m.messageId!);
}

describe('crashes and restarts', () => {
  it('a daemon killed with SIGKILL mid-burst and restarted takes every due action exactly once', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-crash-'));
    // The daemon's clock is the real one: the data is due today.
    const today = todayIn('UTC', new Date());
    const ids = Array.from({ length: 150 }, (_, i) => `K-${String(i).padStart(3, '0')}`);
    const store = openStore(databaseFile(dataDir));
    await importFile(store, writeDataset(dataDir, ids.map((id) => ({ id, anniversaryOn: addDays(today, 7) }))), new Date());
    const env = {
      PATH: process.env.PATH ?? '',
      LIFECYCLE_DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      SMTP_URL: smtp.url,
      QUEUE_PREFIX: `crash${process.pid}`,
      ADMIN_PORT: '0',
      JOB_LOCK_MS: '1500',
      JOB_BACKOFF_MS: '100',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'warn',
    };
    const startChild = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'start'], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const sentCount = () => store.connection.prepare("SELECT COUNT(*) FROM notices WHERE status = 'sent' AND subscription_id LIKE 'K-%'").pluck().get() as number;
    try {
      const first = startChild();
      await expect.poll(() => messagesFor('K-').length, { timeout: 30_000, interval: 5 }).toBeGreaterThanOrEqual(20);
      first.kill('SIGKILL');
      await once(first, 'exit');
      const atKill = sentCount();
      expect(atKill).toBeLessThan(150); // killed in the middle of the burst

      const second = startChild();
      await expect.poll(sentCount, { timeout: 60_000, interval: 100 }).toBe(150);
      second.kill('SIGTERM');
      const [code] = (await once(second, 'exit')) as [number | null];
      expect(code).toBe(0); // a graceful stop

      const ledger = store.connection.prepare("SELECT subscription_id, outcome FROM actions WHERE subscription_id LIKE 'K-%'").all() as { outcome: string }[];
      expect(ledger).toHaveLength(150);
      expect(new Set(ledger.map((r) => r.outcome))).toEqual(new Set(['sent']));
      const received = countBy(messagesFor('K-'));
      expect(received.size).toBe(150); // none lost
      // A duplicate is possible only for a message in flight at the kill (SMTP accepted it, the
      // daemon died before recording it): at most one per concurrent job.
      const duplicates = [...received.values()].filter((n) => n > 1).length;
      expect(duplicates).toBeLessThanOrEqual(4);
      const attempts = store.connection.prepare("SELECT COUNT(*) FROM notices WHERE attempts > 1 AND subscription_id LIKE 'K-%'").pluck().get() as number;
      expect(duplicates).toBeLessThanOrEqual(attempts); // and each one shows as a second attempt
    } finally {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.each(await storeBackends())('Redis restarts, the store on $name', (backend) => {
  it('survives a Redis restart during processing and finishes the work', async () => {
    const D = '2019-09-30';
    const world = await createWorld({ REDIS_URL: redis.url, SMTP_URL: smtp.url }, D, backend);
    try {
      const ids = Array.from({ length: 120 }, (_, i) => `R-${backend.name}-${i}`);
      await world.import(ids.map((id) => ({ id, anniversaryOn: addDays(D, 4) })));
      const runtime = await world.startRuntime();
      await runScan(runtime.deps, { trigger: 'operator', asOf: D });
      await expect.poll(() => messagesFor(`R-${backend.name}-`).length, { timeout: 30_000, interval: 5 }).toBeGreaterThanOrEqual(10);
      await redis.restart();
      await expect
        .poll(() => world.value(sql`SELECT COUNT(*) FROM notices WHERE status = 'sent'`), { timeout: 60_000, interval: 100 })
        .toBe(120);
      await waitUntilIdle(runtime.queues.actions);
      expect(new Set(messagesFor(`R-${backend.name}-`)).size).toBe(120);
      expect((await world.ledger()).filter((r) => r.outcome === 'sent')).toHaveLength(120);
    } finally {
      await world.close();
    }
  });
});

// One daily scan however many daemons fire it: the scan_runs key on every backend.
describe.each(await storeBackends())('two daemons, the store on $name', (backend) => {
  it('two daemons running together produce one daily scan', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-two-'));
    // PostgreSQL: a new database the daemons are sent to by DATABASE_URL; SQLite: the data dir's file.
    const place = backend.name === 'sqlite' ? null : await backend.create();
    const config = loadConfig({
      ...(place ? { DATABASE_URL: place.address } : {}),
      LIFECYCLE_DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      SMTP_URL: smtp.url,
      QUEUE_PREFIX: `two${process.pid}${backend.name}`,
      ADMIN_PORT: '0',
      SCAN_CRON: '* * * * * *', // every second: many firings, still one scan a day
    });
    const log = pino({ level: 'silent' });
    const store = place ? await place.connect() : openStore(databaseFile(dataDir));
    const [a, b] = await Promise.all([startDaemon(config, log), startDaemon(config, log)]);
    try {
      // Several firings (the startup scan and the cron's, of both daemons) have run: still one scan today.
      await expect.poll(async () => (await a.runtime.queues.scans.getJobCounts('completed')).completed, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(4);
      const daily = await store.all(sql`SELECT status FROM scan_runs WHERE "trigger" = 'daily'`);
      expect(daily).toEqual([{ status: 'done' }]);
      expect(await a.runtime.queues.scans.getJobSchedulersCount()).toBe(1);
      const health = await fetch(`http://127.0.0.1:${a.admin.port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
    } finally {
      await a.runtime.queues.scans.removeJobScheduler('daily-scan');
      await Promise.all([a.stop(), b.stop()]);
      await (place ? place.drop() : store.close());
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
