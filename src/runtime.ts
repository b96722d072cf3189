import { makePrivateDir } from './files.js';
import path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisConnection } from './redis/connect.js';
import { createGateway, type PaymentGateway } from './billing/gateway.js';
import type { Config } from './config.js';
import type { JobDeps } from './jobs/deps.js';
import type { JobName, JobPayloads } from './jobs/payloads.js';
import { createActionProcessor } from './jobs/process.js';
import { findEventBackoffMs } from './jobs/deliver-event.js';
import { actionQueueName, createQueues, scanQueueName, type Queues } from './jobs/queues.js';
import { runScan } from './jobs/scan.js';
import type { Logger } from './log.js';
import { createMailer, removeInterruptedOutboxWrites, type Mailer } from './mail/mailer.js';
import { withDeadline } from './redis/deadline.js';
import { createNoticeRenderer } from './mail/render.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import type { NoticeData, Recipient } from './mail/types.js';
import type { Store } from './store/executor.js';
import type { NoticeRow } from './store/notices.js';
import { redactError } from './redact.js';

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

/** How long each step of a stop after the workers' may take (queues, mailer). */
const closeStepMs = 2_000;

async function disconnectWithin(client: { disconnect(): Promise<void> }): Promise<void> {
  await withDeadline(client.disconnect(), 1_000).catch(() => undefined);
}

/**
 * Whether BullMQ left the job failed (no retry follows): an unrecoverable error, attempts
 * spent, or failed by BullMQ itself (stalled too often), which sets `finishedOn`.
 */
function isFailedForGood(job: Job | undefined, error: Error): boolean {
  if (!job || error instanceof UnrecoverableError) return true;
  return job.attemptsMade >= (job.opts.attempts ?? 1) || job.finishedOn !== undefined;
}

/**
 * A processor whose errors carry no secret: BullMQ stores the message as the job's failure
 * reason (shown by `status`, the API, the console), so it is redacted before BullMQ sees it.
 */
function withRedactedErrors<T extends (...args: never[]) => Promise<unknown>>(processor: T): T {
  return (async (...args: Parameters<T>) => {
    try {
      return await processor(...args);
    } catch (error) {
      throw redactError(error);
    }
  }) as T;
}

/** Queues, workers and processors wired together on a store and a Redis connection: `createApp` (src/app.ts) starts it for the daemon and simulations. */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, store, log } = options;
  const prefix = options.prefix ?? config.queuePrefix;
  const renderer = await createNoticeRenderer();
  const outboxDir = path.join(config.dataDir, 'outbox');
  if (!config.smtpUrl) {
    makePrivateDir(outboxDir);
    const removed = await removeInterruptedOutboxWrites(outboxDir);
    if (removed > 0) log.info({ outboxDir, removed }, 'removed the temporary files of interrupted outbox writes');
  }
  const mailer = createMailer({
    ...(config.smtpUrl ? { smtpUrl: config.smtpUrl } : {}),
    outboxDir,
    from: config.mailFrom,
    domain: config.mailDomain,
    ...(config.smtpMaxPerSecond ? { maxMessagesPerSecond: config.smtpMaxPerSecond } : {}),
    maxConnections: config.smtpMaxConnections,
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
    const actions = new Worker<JobPayloads[JobName], unknown, JobName>(actionQueueName, withRedactedErrors(createActionProcessor(deps)), {
      connection: workerConnection,
      prefix,
      concurrency: config.workerConcurrency,
      lockDuration,
      stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
      maxStalledCount: 5,
      // An event's retry job counts the batch's attempt before it, so the delays double on from there.
      settings: { backoffStrategy: (attemptsMade: number, _type?: string, _error?: Error, job?: { data?: unknown }) =>
        findEventBackoffMs(config, attemptsMade + ((job?.data as { attemptsBefore?: number } | undefined)?.attemptsBefore ?? 0)) },
    });
    const scans = new Worker<JobPayloads['scan'], unknown, 'scan'>(scanQueueName, withRedactedErrors(async (job: Job<JobPayloads['scan'], unknown, 'scan'>) => {
      const result = await runScan(deps, job.data);
      log.child({ queue: job.queueName, job: job.name, jobId: job.id }).info(result, 'scan done');
      return result;
    }), {
      connection: workerConnection,
      prefix,
      concurrency: 1,
      lockDuration: Math.max(lockDuration, 60_000),
    });
    for (const worker of [actions, scans] as Worker[]) {
      worker.on('failed', (job: Job | undefined, error: Error) => {
        const isFinal = isFailedForGood(job, error);
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
      // Stop taking jobs, let running ones finish within the bound, then cut the connections:
      // a close waits on Redis, and a Redis that is gone would hold it for good.
      await Promise.all(
        workers.map(async (worker) => {
          try {
            await withDeadline(worker.close(), timeoutMs);
          } catch {
            log.warn({ queue: worker.name, timeoutMs }, 'jobs still running (or Redis unreachable) at the shutdown bound: stopping anyway (they will run again)');
            await disconnectWithin(worker);
          }
        }),
      );
      try {
        await withDeadline(queues.close(), closeStepMs);
      } catch {
        log.warn({ timeoutMs: closeStepMs }, 'queues did not close (Redis unreachable): connections cut');
        await Promise.all([disconnectWithin(queues.actions), disconnectWithin(queues.scans)]);
      }
      await withDeadline(mailer.close(), closeStepMs).catch(() => undefined);
    },
  };
}
