/**
 * Events benchmark: events delivered per second to a local receiver through the daemon's path
 * (outbox row → deliver-events job of up to 50 → signed POSTs, at most C at once → delivered mark), beside a bare HTTP client
 * POSTing the same bodies into the same receiver at the same concurrency.
 *
 *   node --import tsx bench/events.ts [--events N] [--concurrency C]
 *
 * Defaults N = 5,000, C = WORKER_CONCURRENCY's default (8). Prints a table and writes
 * bench/out/events.json. Beside the rates, the CPU each path costs per event (this process, and
 * Redis): on a shared machine the rates follow the load, the CPU per event much less. The aim (≥ 75 % of the bare rate) is reported, never asserted. The bare
 * client runs (after a warm-up) before and after the daemon's path; the mean of its two rates is the reference.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { postJson } from '../src/http/post-json.js';
import { flushWrittenEvents } from '../src/jobs/queues.js';
import { eventBatchSize } from '../src/jobs/deliver-events.js';
import { startSandboxRedis } from '../src/redis/sandbox.js';
import { startRuntime } from '../src/runtime.js';
import { databaseFile, openStore } from '../src/store/db.js';
import { buildEventBody, recordEvent } from '../src/store/events.js';
import { describeMachine, formatRate, formatTable, processCpuSeconds } from './lib/measure.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '8' } } });
const total = Number(values.events);
const concurrency = Number(values.concurrency);

async function startReceiver() {
  let received = 0;
  let onCount: (() => void) | null = null;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received++;
      response.writeHead(204).end();
      onCount?.();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    reset: () => (received = 0),
    waitFor: (n: number) =>
      new Promise<void>((resolve) => {
        onCount = () => received >= n && resolve();
        onCount();
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-bench-events-'));
const receiver = await startReceiver();
const redis = await startSandboxRedis();
const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const config = loadConfig({
  LIFECYCLE_DATA_DIR: dir,
  EVENTS_WEBHOOK_URL: receiver.url,
  EVENTS_WEBHOOK_SECRET: secret,
  WORKER_CONCURRENCY: String(concurrency),
  QUEUE_PREFIX: 'bench-events',
});
const store = openStore(databaseFile(dir));

interface Run {
  seconds: number;
  /** User + system CPU seconds of this process (receiver included), and of redis-server. */
  cpuSeconds: number;
  redisCpuSeconds: number;
}

async function measureRun(run: () => Promise<void>): Promise<Run> {
  const cpu = process.cpuUsage();
  const redisCpu = processCpuSeconds(redis.info.pid);
  const started = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, redisCpuSeconds: processCpuSeconds(redis.info.pid) - redisCpu };
}

try {
  const at = new Date();
  await store.transaction(async (tx) => {
    for (let i = 0; i < total; i++) {
      await recordEvent(tx, { type: 'subscription.lapsed', at, subscription: `S-${i}`, partner: 'P-1', anniversary: '2019-09-01', detail: { action: 'lapse', lapsedOn: '2019-10-02' } });
    }
  });
  const bodies = (store.connection.prepare('SELECT type, occurred_at, data FROM events').all() as { type: string; occurred_at: string; data: string }[]).map((row) =>
    buildEventBody(row as Parameters<typeof buildEventBody>[0]),
  );

  // The bare client: the same bodies, the same concurrency, the same hardened POST, no queue, no
  // database. A first unmeasured run warms the HTTP client up for both paths; then it runs before
  // and after the daemon's path, and the reference is the mean of the two rates: on a shared
  // machine the load drifts between runs, and the mean favours neither side.
  const runBare = async (count = bodies.length): Promise<Run> => {
    let next = 0;
    const run = await measureRun(async () => {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const body = bodies[next++]!;
            await postJson(receiver.url, body, { connectTimeoutMs: 5_000, timeoutMs: 15_000 });
          }
        }),
      );
    });
    receiver.reset();
    return run;
  };
  await runBare(Math.min(bodies.length, 1_000));
  const bareBefore = await runBare();

  const runtime = await startRuntime({ config, store, log: pino({ level: 'silent' }), connection: redis.connection, today: () => '2019-10-02', now: () => new Date() });
  const daemon = await measureRun(async () => {
    await flushWrittenEvents(runtime.queues.actions, config, store);
    await receiver.waitFor(total);
    while ((store.connection.prepare("SELECT COUNT(*) FROM events WHERE status <> 'delivered'").pluck().get() as number) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  await runtime.close();
  const bareAfter = await runBare();

  const eventRate = total / daemon.seconds;
  const bareRate = (total / bareBefore.seconds + total / bareAfter.seconds) / 2;
  const bareSeconds = total / bareRate;
  const ratio = eventRate / bareRate;
  const perEvent = (seconds: number) => ((seconds * 1e6) / total).toFixed(0);
  process.stdout.write(
    `${formatTable(
      ['stage', 'events', 'seconds', 'per second', 'CPU µs/event', 'Redis CPU µs/event'],
      [
        [`events: outbox → deliver-events jobs (${eventBatchSize} each) → signed POST → delivered`, String(total), daemon.seconds.toFixed(2), formatRate(eventRate), perEvent(daemon.cpuSeconds), perEvent(daemon.redisCpuSeconds)],
        [
          'bare HTTP client (postJson, same concurrency; mean of a run before and after)',
          String(total),
          bareSeconds.toFixed(2),
          formatRate(bareRate),
          perEvent((bareBefore.cpuSeconds + bareAfter.cpuSeconds) / 2),
          perEvent((bareBefore.redisCpuSeconds + bareAfter.redisCpuSeconds) / 2),
        ],
      ],
    )}\nevents / bare: ${(ratio * 100).toFixed(0)} % (aim ≥ 75 %); load average ${os.loadavg().map((n) => n.toFixed(1)).join(' ')}\n`,
  );
  const outDir = fileURLToPath(new URL('./out/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'events.json'),
    JSON.stringify({ machine: describeMachine(), total, concurrency, eventRate, bareRate, bareRates: [total / bareBefore.seconds, total / bareAfter.seconds], ratio, runs: { daemon, bareBefore, bareAfter } }, null, 2),
  );
} finally {
  store.close();
  await redis.stop();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
