/**
 * A worker process of the fault-injection harness (bench/fault.ts) and of bench/backends.ts: the
 * real runtime (queues, workers, processors, mailer) on the harness's store, Redis and SMTP sink,
 * whose clock reads the simulated day from the harness's day file. The store is the one the config
 * names, as the daemon's: the data dir's SQLite file, or the PostgreSQL database of DATABASE_URL.
 * The harness kills it with SIGKILL at random; SIGTERM stops it gracefully.
 *
 * The clock injection lives here, in bench code only: production config has no such setting.
 * Environment: the daemon's (LIFECYCLE_DATA_DIR, DATABASE_URL, REDIS_URL, SMTP_URL, QUEUE_PREFIX,
 * JOB_*, WORKER_CONCURRENCY, PAYMENT_GATEWAY, LOG_LEVEL) plus FAULT_DAY_FILE.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig, storeTarget } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { buildRedisOptions } from '../src/redis/connect.js';
import { startRuntime } from '../src/runtime.js';
import { connectStore } from '../src/store/db.js';

const dayFile = process.env.FAULT_DAY_FILE;
if (!dayFile) {
  process.stderr.write('error: FAULT_DAY_FILE is not set (run through bench/fault.ts)\n');
  process.exit(2);
}
const config = loadConfig(process.env);
const log = createLogger(config.logLevel, { destination: pino.destination(2) });
const store = await connectStore(storeTarget(config));
const runtime = await startRuntime({
  config,
  store,
  log,
  connection: buildRedisOptions(config, true),
  today: () => readFileSync(dayFile, 'utf8').trim(),
  now: () => new Date(),
});
await Promise.all(runtime.workers.map((worker) => worker.waitUntilReady()));
process.send?.({ type: 'ready' });

let isStopping = false;
process.on('SIGTERM', () => {
  if (isStopping) return;
  isStopping = true;
  void runtime
    .close(5_000)
    .catch((error: unknown) => log.error({ err: error }, 'stopping the fault worker failed'))
    .then(() => store.close())
    .catch((error: unknown) => log.error({ err: error }, 'closing the store failed'))
    .finally(() => process.exit(0));
});
// The harness gone (killed, or its test timed out): do not linger.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
