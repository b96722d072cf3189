import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { RedisConnection } from './redis/connect.js';
import { createGateway, type PaymentGateway } from './billing/gateway.js';
import type { Config } from './config.js';
import type { JobDeps } from './jobs/deps.js';
import type { JobName, JobPayloads } from './jobs/payloads.js';
import { createActionProcessor } from './jobs/process.js';
import { actionQueueName, createQueues, scanQueueName, type Queues } from './jobs/queues.js';
import { runScan } from './jobs/scan.js';
import type { Logger } from './log.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import { createNoticeRenderer } from './mail/render.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import type { NoticeData, Recipient } from './mail/types.js';
import type { Store } from './store/db.js';
import type { NoticeRow } from './store/effects.js';

export interface RuntimeOptions {
  config: Readonly<Config>;
  store: Store;
  log: Logger;
  connection: RedisConnection;
  /** Key prefix of every queue; simulations use their own. */
  prefix?: string;
  today(): string;
  now(): Date;
  gateway?: PaymentGateway;
  /** Whether this process runs workers (a CLI producer does not). @defaultValue true */
  hasWorkers?: boolean;
  /** Where scans, actions and deliveries are counted. @defaultValue a registry of its own */
  metrics?: Metrics;
}

export interface Runtime {
  deps: JobDeps;
  queues: Queues;
  workers: Worker[];
  mailer: Mailer;
  metrics: Metrics;
  /** The Redis the queues use, for anything else that must reach them (QueueEvents). */
  connection: RedisConnection;
  close(timeoutMs?: number): Promise<void>;
}

/** Queues, workers and processors wired together: shared by the daemon, `simulate` and tests. */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, store, log } = options;
  const prefix = options.prefix ?? config.queuePrefix;
  const renderer = await createNoticeRenderer();
  const outboxDir = path.join(config.dataDir, 'outbox');
  if (!config.smtpUrl) mkdirSync(outboxDir, { recursive: true });
  const mailer = createMailer({
    ...(config.smtpUrl ? { smtpUrl: config.smtpUrl } : {}),
    outboxDir,
    from: config.mailFrom,
    domain: config.mailDomain,
    ...(config.smtpMaxPerSecond ? { maxMessagesPerSecond: config.smtpMaxPerSecond } : {}),
  });
  const queues = createQueues({ ...options.connection, maxRetriesPerRequest: 3 }, prefix, config);
  // Without a listener an 'error' (Redis restarting) would be thrown and end the process.
  queues.actions.on('error', (error: Error) => log.warn({ queue: actionQueueName, err: error }, 'queue connection error'));
  queues.scans.on('error', (error: Error) => log.warn({ queue: scanQueueName, err: error }, 'queue connection error'));
  const metrics = options.metrics ?? createMetrics();
  metrics.watchQueues(queues);
  const deps: JobDeps = {
    store,
    config,
    gateway: options.gateway ?? createGateway(config),
    sendNotice: async (notice: NoticeRow) => {
      const data = JSON.parse(notice.data) as NoticeData;
      const recipients = JSON.parse(notice.recipients) as Recipient[];
      try {
        await mailer.send(renderer.render(data), data, recipients);
      } catch (error) {
        metrics.recordDelivery(notice.kind, error as Error);
        throw error;
      }
      metrics.recordDelivery(notice.kind);
    },
    queue: queues.actions,
    today: options.today,
    now: options.now,
    log,
    observer: metrics,
  };
  const workers: Worker[] = [];
  if (options.hasWorkers ?? true) {
    const workerConnection = { ...options.connection, maxRetriesPerRequest: null };
    const lockDuration = config.jobLockMs;
    const actions = new Worker<JobPayloads[JobName], unknown, JobName>(actionQueueName, createActionProcessor(deps), {
      connection: workerConnection,
      prefix,
      concurrency: config.workerConcurrency,
      lockDuration,
      stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
      maxStalledCount: 5,
    });
    const scans = new Worker<JobPayloads['scan'], unknown, 'scan'>(scanQueueName, async (job) => {
      const result = await runScan(deps, job.data);
      log.child({ queue: job.queueName, job: job.name, jobId: job.id }).info(result, 'scan done');
      return result;
    }, {
      connection: workerConnection,
      prefix,
      concurrency: 1,
      lockDuration: Math.max(lockDuration, 60_000),
    });
    for (const worker of [actions, scans] as Worker[]) {
      worker.on('failed', (job: Job | undefined, error: Error) => {
        const attempts = job?.opts.attempts ?? 1;
        const isFinal = !job || job.attemptsMade >= attempts || error.name === 'PermanentError' || error.name === 'UnrecoverableError';
        log[isFinal ? 'error' : 'warn'](
          { queue: worker.name, job: job?.name, jobId: job?.id, subscription: (job?.data as { subscription?: string } | undefined)?.subscription, attempt: job?.attemptsMade, err: error },
          isFinal ? 'job failed for good: operators can retry it' : 'job failed, will retry',
        );
      });
      worker.on('stalled', (jobId: string) => log.warn({ queue: worker.name, jobId }, 'job stalled (its worker died): it runs again'));
      worker.on('error', (error: Error) => log.error({ queue: worker.name, err: error }, 'worker error'));
      workers.push(worker);
    }
  }
  return {
    deps,
    queues,
    workers,
    mailer,
    metrics,
    connection: options.connection,
    async close(timeoutMs = config.shutdownTimeoutMs) {
      // Stop taking jobs, let running ones finish within the bound, then force.
      await Promise.all(
        workers.map(async (worker) => {
          let timer: NodeJS.Timeout | undefined;
          const forced = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), timeoutMs);
          });
          const result = await Promise.race([worker.close().then(() => 'closed' as const), forced]);
          clearTimeout(timer);
          if (result === 'timeout') {
            log.warn({ queue: worker.name, timeoutMs }, 'jobs still running at the shutdown bound: stopping anyway (they will run again)');
            await worker.close(true);
          }
        }),
      );
      await queues.close();
      await mailer.close();
    },
  };
}
