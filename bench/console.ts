/**
 * The console's routes at 1,000,000 subscriptions: `GET /api/subscriptions` (first, deep and
 * filtered pages), `GET /api/plan` (the console's default page) and `GET /api/forecast` (90 days,
 * cold), each timed alone; then the event loop's delay while 4 clients poll the list, the plan
 * and the queue counts back to back with the session cookie, as open consoles do (far faster
 * than their 30 s poll). Builds the e2e data set (bench/lib/e2e-build.ts) and marks 5 % of it
 * lapsed and 1 % cancelled, so a status filter has sparse values to find. Figures are printed,
 * never asserted. `SUBSCRIPTIONS=…` for a smaller run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startAdminServer } from '../src/ops/http.js';
import { addDays } from '../src/policy/dates.js';
import { startRuntime } from '../src/runtime.js';
import { openStore } from '../src/store/db.js';
import { buildE2eDatabaseInChild } from './lib/e2e-build.js';
import { describeMachine, formatCount, formatTable, readCount } from './lib/measure.js';
import { startBenchRedis } from './lib/redis-server.js';

const subscriptions = readCount(process.env.SUBSCRIPTIONS, 'SUBSCRIPTIONS', 1_000_000);
const D = '2025-06-02';
const pollers = 4;
const pollSeconds = 15;
const token = 'bench-admin-token-0123456789';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-bench-console-'));
  const databaseFile = path.join(dir, 'lifecycle.db');
  const redis = await startBenchRedis({ dir: path.join(dir, 'redis') });
  try {
    console.log(`building ${formatCount(subscriptions)} subscriptions…`);
    await buildE2eDatabaseInChild({ dir, databaseFile, subscriptions, typicalDay: D });
    const store = openStore(databaseFile);
    // Sparse statuses for the filters (a bench may write SQL; the product goes through src/store).
    store.connection.exec("UPDATE subscriptions SET status = 'lapsed' WHERE rowid % 20 = 1; UPDATE subscriptions SET status = 'cancelled' WHERE rowid % 100 = 2; ANALYZE");
    const middleId = store.connection.prepare('SELECT id FROM subscriptions ORDER BY id LIMIT 1 OFFSET ?').pluck().get(Math.floor(subscriptions / 2)) as string;
    const somePartner = store.connection.prepare('SELECT partner_id FROM subscriptions WHERE id = ?').pluck().get(middleId) as string;
    const config = loadConfig({ LIFECYCLE_DATA_DIR: dir, REDIS_URL: redis.url, ADMIN_TOKEN: token, PAYMENT_GATEWAY: 'test', ADMIN_PORT: '0' });
    const log = pino({ level: 'silent' });
    const runtime = await startRuntime({
      config, store, log, hasWorkers: false, connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, today: () => D, now: () => new Date(),
    });
    const admin = await startAdminServer({
      host: '127.0.0.1', port: 0, config, store, queues: runtime.queues, deps: runtime.deps, connection: runtime.connection, metrics: runtime.metrics, mailer: runtime.mailer, log,
    });
    const base = `http://127.0.0.1:${admin.port}`;
    // Signed in like the console: the session cookie, not the bearer token.
    const signIn = await fetch(`${base}/api/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const headers = { cookie: signIn.headers.get('set-cookie')!.split(';')[0]! };

    const get = async (url: string) => {
      const started = performance.now();
      const response = await fetch(`${base}${url}`, { headers });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${url}: ${response.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - started, body: JSON.parse(body) as Record<string, unknown>, bytes: body.length };
    };
    const timeRoute = async (label: string, url: () => string, runs: number, count: (body: Record<string, unknown>) => number) => {
      const latencies: number[] = [];
      let rows = 0;
      let bytes = 0;
      for (let i = 0; i < runs; i++) {
        const reply = await get(url());
        latencies.push(reply.ms);
        rows = count(reply.body);
        bytes = reply.bytes;
      }
      return [label, String(rows), `${(bytes / 1024).toFixed(1)} KiB`, ms(percentile(latencies, 50)), ms(percentile(latencies, 95)), ms(Math.max(...latencies))];
    };
    const listed = (body: Record<string, unknown>) => (body.subscriptions as unknown[]).length;
    const planned = (body: Record<string, unknown>) => body.total as number;

    // A due-ordered cursor 20 pages in: keyset, so as cheap as the first.
    let dueCursor: string | null = null;
    for (let i = 0; i < 20; i++) dueCursor = (await get(`/api/subscriptions?dueWithin=30&limit=50${dueCursor ? `&after=${dueCursor}` : ''}`)).body.next as string;
    const rows: string[][] = [
      await timeRoute('list, first page (50)', () => '/api/subscriptions?limit=50', 50, listed),
      await timeRoute('list, a page in the middle (50)', () => `/api/subscriptions?limit=50&after=${encodeURIComponent(middleId)}`, 50, listed),
      await timeRoute('list, status=cancelled (1 %)', () => '/api/subscriptions?limit=50&status=cancelled', 50, listed),
      await timeRoute('list, status=lapsed, middle', () => `/api/subscriptions?limit=50&status=lapsed&after=${encodeURIComponent(middleId)}`, 50, listed),
      await timeRoute('list, offer=competency', () => '/api/subscriptions?limit=50&offer=competency', 50, listed),
      await timeRoute('list, due within 7 days', () => '/api/subscriptions?limit=50&dueWithin=7', 50, listed),
      await timeRoute('list, due within 30 days, page 21', () => `/api/subscriptions?limit=50&dueWithin=30&after=${dueCursor}`, 50, listed),
      await timeRoute('list, id prefix', () => `/api/subscriptions?limit=50&q=${encodeURIComponent(middleId.slice(0, -2))}`, 50, listed),
      await timeRoute('list, one partner', () => `/api/subscriptions?limit=50&partner=${encodeURIComponent(somePartner)}`, 50, listed),
      await timeRoute('list, 500 a page', () => '/api/subscriptions?limit=500', 20, listed),
      await timeRoute('plan, default page', () => `/api/plan?from=${D}`, 30, planned),
    ];
    // The forecast reads every subscription due within the 90 days: a minute's cache keeps polls off it.
    let day = 0;
    const forecastDelay = monitorEventLoopDelay({ resolution: 5 });
    forecastDelay.enable();
    const forecastRow = await timeRoute('forecast, 90 days, cold', () => `/api/forecast?from=${addDays(D, day++)}`, 3, (body) => body.subscriptions as number);
    forecastDelay.disable();
    rows.push(forecastRow);
    rows.push(await timeRoute('forecast, cached', () => `/api/forecast?from=${D}`, 20, (body) => body.subscriptions as number));

    // Polling: 4 clients, back to back, over the console's overview and list.
    const delay = monitorEventLoopDelay({ resolution: 5 });
    const urls = ['/api/subscriptions?limit=50', `/api/plan?from=${D}`, '/api/queues', '/api/subscriptions?limit=50&dueWithin=7', '/api/scans?limit=10'];
    let polling = true;
    let requests = 0;
    const latencies: number[] = [];
    delay.enable();
    const loops = Array.from({ length: pollers }, async (_, n) => {
      for (let i = n; polling; i++) {
        latencies.push((await get(urls[i % urls.length]!)).ms);
        requests += 1;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
    polling = false;
    await Promise.all(loops);
    delay.disable();
    const polled = {
      requests,
      perSecond: requests / pollSeconds,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
      eventLoopDelayP50: delay.percentile(50) / 1e6,
      eventLoopDelayP99: delay.percentile(99) / 1e6,
      eventLoopDelayMax: delay.max / 1e6,
    };

    console.log(JSON.stringify({ machine: describeMachine(), subscriptions }, null, 2));
    console.log(formatTable(['route', 'rows', 'body', 'p50', 'p95', 'max'], rows));
    console.log(`event loop delay while a cold forecast is built: p50 ${ms(forecastDelay.percentile(50) / 1e6)}, p99 ${ms(forecastDelay.percentile(99) / 1e6)}, max ${ms(forecastDelay.max / 1e6)}`);
    console.log(
      `polling: ${pollers} clients back to back for ${pollSeconds} s: ${requests} requests (${polled.perSecond.toFixed(0)}/s), ` +
        `latency p50 ${ms(polled.latencyP50)}, p99 ${ms(polled.latencyP99)}; event loop delay p50 ${ms(polled.eventLoopDelayP50)}, ` +
        `p99 ${ms(polled.eventLoopDelayP99)}, max ${ms(polled.eventLoopDelayMax)}`,
    );
    await admin.close();
    await runtime.close(5_000);
    await store.close();
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
