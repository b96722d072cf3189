import os from 'node:os';
import { Queue } from 'bullmq';
import { createGateway, type PaymentGateway } from './billing/gateway.js';
import { storeTarget, type Config } from './config.js';
import type { JobPayloads, ScanResult } from './jobs/payloads.js';
import { actionQueueName, buildJobOptions, scanQueueName, type ActionQueue } from './jobs/queues.js';
import type { Logger } from './log.js';
import type { OperatorDeps } from './operator/actions.js';
import { createMetrics } from './ops/metrics.js';
import { todayIn } from './policy/dates.js';
import { buildRedisOptions, reconnectQuickly, type RedisConnection } from './redis/connect.js';
import { withDeadline } from './redis/deadline.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded.js';
import { startSandboxRedis } from './redis/sandbox.js';
import { startRuntime, type Runtime } from './runtime.js';
import { connectStore, type OpenStoreOptions } from './store/db.js';
import type { Store } from './store/executor.js';

/**
 * What a process is, and so what it assembles:
 * - `daemon`: the configured store (created and migrated when missing), the Redis of REDIS_URL
 *   or a private redis-server of the data dir, queues and their workers, process metrics.
 * - `cli`: the configured store (see `store`), and the running daemons' queues on first use,
 *   without workers: a command hands jobs to the daemons.
 * - `simulate`: a store of its own (a sandbox, the demo's), a throwaway redis-server, queues
 *   of their own prefix with workers whose calendar is `today()`; nothing leaves the machine.
 */
export type AppRole = 'daemon' | 'cli' | 'simulate';

export interface AppOptions {
  role: AppRole;
  log: Logger;
  /** `simulate`: the store the days run on (the caller's, left open on close). Others open the configured store. */
  store?: Store;
  /** `cli`: `existing` for commands that read or act on data (never created), `create` for those that write data in. @defaultValue 'create' */
  storeMode?: OpenStoreOptions['mode'];
  /** The program day. @defaultValue today in LIFECYCLE_TZ */
  today?: () => string;
}

/** The daemons' queues as a command sees them: it adds jobs, and waits for a scan's result. */
export interface ProducerQueues {
  actions: ActionQueue;
  scans: Queue<JobPayloads['scan'], ScanResult, 'scan'>;
  connection: RedisConnection;
}

/** The parts of the program, wired once: every entry point (daemon, CLI, simulate, demo) and the test worlds take them from here. */
export interface App {
  readonly role: AppRole;
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly gateway: PaymentGateway;
  readonly log: Logger;
  today(): string;
  /** What an operator action (CLI, admin API, demo) needs; `operator` names who acts in the audit trail. */
  operatorDeps(operator: string, now?: () => Date): OperatorDeps;
  /** `daemon` and `simulate`: queues, workers, mailer, metrics. */
  readonly runtime: Runtime | undefined;
  /** `cli`: the running daemons' queues (opened on first use, closed with the app); the other roles have `runtime.queues`. */
  queues(): ProducerQueues;
  /** Stops everything this app started, in order (workers within `timeoutMs`, queues, the Redis it owns, the store it opened). */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Retries wait milliseconds, not minutes: a simulated calendar. Its events stay in the sandbox: a rehearsal tells benefits
 * systems nothing. Nor does it charge a card: the payment webhook is not called, renewals wait for payment as with `manual`.
 */
function simulatedConfig(config: Readonly<Config>): Readonly<Config> {
  const paymentGateway = config.paymentGateway === 'webhook' ? 'manual' : config.paymentGateway;
  return { ...config, redisUrl: null, smtpUrl: null, jobBackoffMs: 20, eventsWebhookUrl: null, eventsWebhookSecret: null, paymentGateway, paymentWebhookUrl: null, paymentWebhookSecret: null };
}

/** The operator's name for the audit trail: LIFECYCLE_OPERATOR, else the login name. */
export function operatorName(): string {
  return process.env.LIFECYCLE_OPERATOR ?? os.userInfo().username;
}

export async function createApp(configured: Readonly<Config>, options: AppOptions): Promise<App> {
  const { role, log } = options;
  const config = role === 'simulate' ? simulatedConfig(configured) : configured;
  const today = options.today ?? (() => todayIn(config.timeZone, new Date()));
  const ownsStore = options.store === undefined;
  if (role === 'simulate' && ownsStore) throw new Error('createApp: a simulation runs on a store of its own (options.store)');
  const store =
    options.store ??
    (await connectStore(storeTarget(config), {
      ...(role === 'cli' ? { mode: options.storeMode ?? 'create', max: 2 } : {}),
      applicationName: `lifecycle ${role}`,
    }));
  const gateway = createGateway(config);
  const closers: (() => Promise<void>)[] = [];
  let runtime: Runtime | undefined;
  try {
    if (role === 'daemon') {
      let connection: RedisConnection;
      if (config.redisUrl) connection = buildRedisOptions(config, true);
      else {
        const redis: EmbeddedRedis = await startEmbeddedRedis(config.dataDir);
        closers.push(() => redis.stop());
        connection = { host: redis.info.host, port: redis.info.port, password: redis.info.password, retryStrategy: reconnectQuickly };
        log.info({ port: redis.info.port, pid: redis.info.pid, isOwner: redis.isOwner }, 'private redis-server ready');
        redis.supervise({
          died: (pid) => log.error({ pid }, 'private redis-server died: restarting it on the same data (jobs wait meanwhile)'),
          restarted: (pid) => log.warn({ pid }, 'private redis-server restarted: connections resume'),
          restartFailed: (error) => log.error({ err: error }, 'private redis-server could not be restarted: trying again'),
        });
      }
      runtime = await startRuntime({ config, store, log, connection, gateway, today, now: () => new Date(), metrics: createMetrics({ withProcessMetrics: true }) });
    } else if (role === 'simulate') {
      const redis = await startSandboxRedis();
      closers.push(() => redis.stop());
      runtime = await startRuntime({ config, store, log, connection: redis.connection, gateway, prefix: `${config.queuePrefix}-simulate`, today, now: () => new Date() });
    }
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => {});
    if (ownsStore) await store.close().catch(() => {});
    throw error;
  }
  let producer: ProducerQueues | undefined;
  let closing: Promise<void> | undefined;
  return {
    role,
    config,
    store,
    gateway,
    log,
    today,
    runtime,
    operatorDeps: (operator, now = () => new Date()) => ({ store, config, gateway, now, operator }),
    queues() {
      if (role !== 'cli') throw new Error(`createApp: a ${role} has runtime.queues`);
      producer ??= openProducerQueues(config);
      return producer;
    },
    close(timeoutMs) {
      closing ??= (async () => {
        // Simulations wait a little for their last jobs; a daemon as long as SHUTDOWN_TIMEOUT_MS allows.
        await runtime?.close(timeoutMs ?? (role === 'simulate' ? 5_000 : config.shutdownTimeoutMs));
        if (producer) await closeProducerQueues(producer);
        for (const close of closers.reverse()) await close();
        if (ownsStore) await store.close();
      })();
      return closing;
    },
  };
}

/** The daemons' queues, found through REDIS_URL or the data dir (SPEC §5): a command's producer side, no workers. */
export function openProducerQueues(config: Readonly<Config>): ProducerQueues {
  const connection = buildRedisOptions(config, false);
  const options = { connection, prefix: config.queuePrefix, defaultJobOptions: buildJobOptions(config) };
  const actions: ActionQueue = new Queue(actionQueueName, options);
  const scans: ProducerQueues['scans'] = new Queue(scanQueueName, options);
  for (const queue of [actions, scans] as { on(event: 'error', listener: (error: Error) => void): unknown }[]) {
    queue.on('error', () => {}); // reported by the command that fails, not as an uncaught event
  }
  return { actions, scans, connection };
}

/** A close that cannot reach Redis must not hold the command: bounded, then cut. */
export async function closeProducerQueues({ actions, scans }: ProducerQueues): Promise<void> {
  try {
    await withDeadline(Promise.all([actions.close(), scans.close()]), 2_000);
  } catch {
    await Promise.allSettled([actions, scans].map((queue) => withDeadline(queue.disconnect(), 500)));
  }
}
