import net from 'node:net';
import type { Config } from './config.js';
import { InputError } from './errors.js';
import { withDeadline } from './redis/deadline.js';
import { dailyScanSchedulerId } from './jobs/queues.js';
import { requeueUndelivered } from './jobs/scan.js';
import type { Logger } from './log.js';
import { startAdminServer, type AdminServer } from './ops/http.js';
import type { Runtime } from './runtime.js';
import { createApp } from './app.js';

export interface Daemon {
  runtime: Runtime;
  admin: AdminServer;
  stop(): Promise<void>;
}

/**
 * `lifecycle start`: the daemon's parts from `createApp` (store, Redis private or shared, queues
 * and workers), then the daily Job Scheduler and the admin API, and the order in which they stop.
 */
export async function startDaemon(config: Readonly<Config>, log: Logger): Promise<Daemon> {
  // Before anything runs: a daemon that cannot serve its port must not have scanned or sent.
  await checkPortFree(config.adminHost, config.adminPort);
  const app = await createApp(config, { role: 'daemon', log });
  const runtime = app.runtime!;
  const { store, today } = app;
  let admin: AdminServer | undefined;
  try {
    await registerDailySchedule(runtime, config, log);
    // Catch up at start: today's daily scan, unless it ran already (the scan_runs key refuses a second).
    await runtime.queues.scans.add('scan', { trigger: 'daily' }, { jobId: `startup-${today()}` });
    // Notices and events a killed daemon committed but never queued go now, not at tomorrow's scan.
    await requeueUndelivered(runtime.deps);
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
    await app.close(1_000).catch(() => {});
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
        await app.close();
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
