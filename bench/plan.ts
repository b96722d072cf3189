/**
 * GET /api/plan at 1,000,000 subscriptions beside the delivery rate, with the console polling.
 * Builds the e2e data set (bench/lib/e2e-build.ts), runs the real runtime (workers, outbox
 * delivery) and the admin server in this process, as the daemon does, then delivers one typical
 * day's work twice: alone, and while 4 pollers request the console's default plan and /healthz
 * back to back. Figures are printed, never asserted. `SUBSCRIPTIONS=…` for a smaller run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { waitUntilIdle } from '../src/jobs/queues.js';
import { runScan } from '../src/jobs/scan.js';
import { startAdminServer } from '../src/ops/http.js';
import { addDays } from '../src/policy/dates.js';
import { startRuntime } from '../src/runtime.js';
import { openStore } from '../src/store/db.js';
import { buildE2eDatabaseInChild } from './lib/e2e-build.js';
import { describeMachine, formatCount, readCount } from './lib/measure.js';
import { startBenchRedis } from './lib/redis-server.js';

const subscriptions = readCount(process.env.SUBSCRIPTIONS, 'SUBSCRIPTIONS', 1_000_000);
const D = '2025-06-02';
const pollers = 4;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-bench-plan-'));
  const databaseFile = path.join(dir, 'lifecycle.db');
  const redis = await startBenchRedis({ dir: path.join(dir, 'redis') });
  try {
    console.log(`building ${formatCount(subscriptions)} subscriptions…`);
    await buildE2eDatabaseInChild({ dir, databaseFile, subscriptions, typicalDay: D });
    const config = loadConfig({ LIFECYCLE_DATA_DIR: dir, REDIS_URL: redis.url, ADMIN_TOKEN: 'bench-admin-token-0123456789', PAYMENT_GATEWAY: 'test', ADMIN_PORT: '0' });
    const store = openStore(databaseFile);
    let today = D;
    const log = pino({ level: 'silent' });
    const runtime = await startRuntime({ config, store, log, connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, today: () => today, now: () => new Date() });
    const admin = await startAdminServer({
      host: '127.0.0.1', port: 0, config, store, queues: runtime.queues, deps: runtime.deps, connection: runtime.connection, metrics: runtime.metrics, mailer: runtime.mailer, log,
    });
    const base = `http://127.0.0.1:${admin.port}`;
    const headers = { authorization: 'Bearer bench-admin-token-0123456789' };

    // The plan alone: the console's default (today … +30 days, first page) and a full 400-day page walk sample.
    const alone: number[] = [];
    let listed = 0;
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const plan = (await (await fetch(`${base}/api/plan?from=${D}`, { headers })).json()) as { total: number };
      alone.push(performance.now() - started);
      listed = plan.total;
    }

    const deliver = async (day: string, poll: boolean) => {
      today = day;
      const latencies: number[] = [];
      let healthFailures = 0;
      let requests = 0;
      let polling = poll;
      const loops = poll
        ? Array.from({ length: pollers }, async () => {
            while (polling) {
              const started = performance.now();
              await (await fetch(`${base}/api/plan?from=${day}`, { headers })).arrayBuffer();
              latencies.push(performance.now() - started);
              const health = await fetch(`${base}/healthz`);
              if (health.status !== 200) healthFailures += 1;
              await health.arrayBuffer();
              requests += 2;
            }
          })
        : [];
      const started = performance.now();
      const scan = await runScan(runtime.deps, { trigger: 'operator', asOf: day });
      await waitUntilIdle(runtime.queues.actions);
      const seconds = (performance.now() - started) / 1_000;
      polling = false;
      await Promise.all(loops);
      return { day, jobs: scan.enqueued, seconds, rate: scan.enqueued / seconds, requests, healthFailures, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    };
    const quiet = await deliver(D, false);
    const busy = await deliver(addDays(D, 1), true);
    console.log(JSON.stringify({ machine: describeMachine(), subscriptions, planAlone: { listed, p50: percentile(alone, 50), p99: percentile(alone, 99) }, quiet, busy }, null, 2));
    await admin.close();
    await runtime.close(5_000);
    store.close();
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
