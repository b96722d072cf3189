import net from 'node:net';
import { storeTarget, type Config } from './config.js';
import { InputError } from './errors.js';
import { withDeadline } from './redis/deadline.js';
import { dailyScanSchedulerId } from './jobs/queues.js';
import type { Logger } from './log.js';
import { startAdminServer, type AdminServer } from './ops/http.js';
import { createMetrics } from './ops/metrics.js';
import { todayIn } from './policy/dates.js';
import { buildRedisOptions, reconnectQuickly, type RedisConnection } from './redis/connect.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded.js';
import { startRuntime, type Runtime } from './runtime.js';
import { connectStore } from './store/db.js';
import type { Store } from './store/executor.js';

export interface Daemon {
  runtime: Runtime;
  admin: AdminServer;
  stop(): Promise<void>;
}

/**
 * The one place that knows everything: store, Redis (private or shared), queues and workers,
 * the daily Job Scheduler, the admin API, and the order in which they stop.
 */
export async function startDaemon(config: Readonly<Config>, log: Logger): Promise<Daemon> {
  // Before anything runs: a daemon that cannot serve its port must not have scanned or sent.
  await checkPortFree(config.adminHost, config.adminPort);
  const store: Store = await connectStore(storeTarget(config), { applicationName: 'lifecycle daemon' });
  let redis: EmbeddedRedis | null = null;
  let runtime: Runtime | undefined;
  let admin: AdminServer | undefined;
  try {
    let connection: RedisConnection;
    if (config.redisUrl) connection = buildRedisOptions(config, true);
    else {
      redis = await startEmbeddedRedis(config.dataDir);
      connection = { host: redis.info.host, port: redis.info.port, password: redis.info.password, retryStrategy: reconnectQuickly };
      log.info({ port: redis.info.port, pid: redis.info.pid, isOwner: redis.isOwner }, 'private redis-server ready');
      redis.supervise({
        died: (pid) => log.error({ pid }, 'private redis-server died: restarting it on the same data (jobs wait meanwhile)'),
        restarted: (pid) => log.warn({ pid }, 'private redis-server restarted: connections resume'),
        restartFailed: (error) => log.error({ err: error }, 'private redis-server could not be restarted: trying again'),
      });
    }
    const today = () => todayIn(config.timeZone, new Date());
    runtime = await startRuntime({
      config,
      store,
      log,
      connection,
      today,
      now: () => new Date(),
      metrics: createMetrics({ withProcessMetrics: true }),
    });
    await registerDailySchedule(runtime, config, log);
    // Catch up at start: today's daily scan, unless it ran already (the scan_runs key refuses a second).
    await runtime.queues.scans.add('scan', { trigger: 'daily' }, { jobId: `startup-${today()}` });
    admin = await startAdminServer({
      host: config.adminHost,
      port: config.adminPort,
      config,
      store,
      queues: runtime.queues,
      deps: runtime.deps,
      connection: runtime.connection,
      metrics: runtime.metrics,
      mailer: runtime.mailer,
      log,
    }).catch((error: unknown) => {
      throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? portInUse(config.adminHost, config.adminPort) : error;
    });
    log.info(
      { dataDir: config.dataDir, store: store.location, timeZone: config.timeZone, scanCron: config.scanCron, adminPort: admin.port, outbox: !config.smtpUrl },
      'daemon started',
    );
  } catch (error) {
    await admin?.close().catch(() => {});
    await runtime?.close(1_000).catch(() => {});
    await store.close().catch(() => {});
    await redis?.stop().catch(() => {});
    throw error;
  }
  const started = { runtime, admin };
  let stopping: Promise<void> | undefined;
  return {
    ...started,
    stop() {
      stopping ??= (async () => {
        log.info({ timeoutMs: config.shutdownTimeoutMs }, 'stopping: no new jobs, waiting for running ones');
        // Every step is bounded: a Redis that is gone must not hold the stop for good.
        await withDeadline(started.admin.close(), 3_000).catch((error: Error) => log.warn({ err: error }, 'admin server did not close in time'));
        await started.runtime.close();
        await store.close();
        await redis?.stop();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

function portInUse(host: string, port: number): InputError {
  return new InputError(`ADMIN_PORT=${port} is already in use on ${host}: another daemon or program listens there; stop it or set ADMIN_PORT to a free port`);
}

/** Listens on the admin address for a moment: an address in use is one clear line, before any side effect. */
async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? portInUse(host, port) : error));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/**
 * One Job Scheduler, however many daemons: a daemon registers it only when it is missing or its
 * pattern changed, and a daemon that loses the race to another one leaves the winner's in place.
 */
async function registerDailySchedule(runtime: Runtime, config: Readonly<Config>, log: Logger): Promise<void> {
  const { scans } = runtime.queues;
  const existing = await scans.getJobScheduler(dailyScanSchedulerId);
  if (existing?.pattern === config.scanCron && existing.tz === config.timeZone) return;
  try {
    await scans.upsertJobScheduler(dailyScanSchedulerId as 'scan', { pattern: config.scanCron, tz: config.timeZone }, { name: 'scan', data: { trigger: 'daily' } });
    log.info({ scanCron: config.scanCron, timeZone: config.timeZone }, 'daily scan scheduled');
  } catch (error) {
    if (!/already exists/.test((error as Error).message)) throw error;
    log.info('daily scan already scheduled by another daemon');
  }
}
