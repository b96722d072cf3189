import { QueueEvents } from 'bullmq';
import { closeProducerQueues, openProducerQueues, type ProducerQueues } from '../app.js';
import { InputError } from '../errors.js';
import { cliConnectTimeoutMs, describeRedisUrl } from '../redis/connect.js';
import { withDeadline } from '../redis/deadline.js';

/** A close that cannot reach Redis must not hold the command: bounded, then cut. */
async function closeWithin(closing: Promise<unknown>, clients: readonly { disconnect(): Promise<void> }[]): Promise<void> {
  try {
    await withDeadline(closing, 2_000);
  } catch {
    await Promise.allSettled(clients.map((client) => withDeadline(client.disconnect(), 500)));
  }
}
import { enqueueDelivery, flushWrittenEvents, scanQueueName } from '../jobs/queues.js';
import type { ScanResult } from '../jobs/payloads.js';
import type { CliContext } from './context.js';

const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Runs `task` on the daemon's queues (opened for the command); a Redis that cannot be reached or
 * refuses our login is said as such, naming REDIS_URL or the daemon's private Redis, instead of a
 * bare `connect ECONNREFUSED …`.
 */
export async function withQueues<T>(context: CliContext, task: (queues: ProducerQueues) => Promise<T>): Promise<T> {
  const queues = openQueues(context);
  try {
    return await task(queues);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const message = (error as Error).message;
    if (!unreachableCodes.has(code) && !/NOAUTH|WRONGPASS|Connection is closed|no answer within/.test(message)) throw error;
    const { redisUrl } = context.config;
    const where = redisUrl ? `Redis at ${describeRedisUrl(redisUrl)} (REDIS_URL)` : `the daemon's Redis (${queues.connection.host}:${queues.connection.port})`;
    throw new InputError(`cannot reach ${where}: ${message.replace(/^Redis: /, '')}`);
  }
}

/** The queues of the running daemon, found through REDIS_URL or the data dir (SPEC §5); closed with the command. */
export function openQueues(context: CliContext): ProducerQueues {
  const queues = openProducerQueues(context.config);
  context.onClose(() => closeProducerQueues(queues));
  return queues;
}

/** Has the daemon scan now and waits for the result. */
export async function requestScan(context: CliContext, asOf: string, timeoutMs = 10 * 60_000): Promise<ScanResult> {
  return withQueues(context, async ({ scans, connection }) => {
    // A blocking connection: BullMQ wants (and warns unless) maxRetriesPerRequest is null.
    const events = new QueueEvents(scanQueueName, { connection: { ...connection, maxRetriesPerRequest: null }, prefix: context.config.queuePrefix });
    events.on('error', () => {});
    context.onClose(() => closeWithin(events.close(), [events]));
    await withDeadline(events.waitUntilReady(), cliConnectTimeoutMs + 500, 'Redis');
    const job = await scans.add('scan', { trigger: 'operator', asOf }, { jobId: `operator-${asOf}-${Date.now()}` });
    return (await job.waitUntilFinished(events, timeoutMs)) as ScanResult;
  });
}

/** Hands an outbox notice to the daemon now; without a daemon it waits for the next scan. */
export async function requestDelivery(context: CliContext, messageId: string): Promise<string> {
  try {
    const { actions } = openQueues(context);
    await enqueueDelivery(actions, [messageId]);
    return 'the notice is queued for delivery';
  } catch (error) {
    return `the notice waits in the outbox: ${(error as Error).message}; the next scan sends it`;
  }
}

/** Hands the events the command wrote to the daemon's queue; without Redis the next scan queues them. */
export async function requestEventDelivery(context: CliContext): Promise<void> {
  if (!context.config.eventsWebhookUrl) return;
  try {
    await flushWrittenEvents(openQueues(context).actions, context.config, (await context.store()));
  } catch {
    // Left pending in the events table: every scan queues what is undelivered.
  }
}
