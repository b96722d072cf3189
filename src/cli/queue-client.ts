import { Queue, QueueEvents } from 'bullmq';
import { buildRedisOptions, cliConnectTimeoutMs } from '../redis/connect.js';
import { withDeadline } from '../redis/deadline.js';

/** A close that cannot reach Redis must not hold the command: bounded, then cut. */
async function closeWithin(closing: Promise<unknown>, clients: readonly { disconnect(): Promise<void> }[]): Promise<void> {
  try {
    await withDeadline(closing, 2_000);
  } catch {
    await Promise.allSettled(clients.map((client) => withDeadline(client.disconnect(), 500)));
  }
}
import { actionQueueName, buildJobOptions, enqueueDelivery, flushWrittenEvents, scanQueueName, type ActionQueue } from '../jobs/queues.js';
import type { JobPayloads, ScanResult } from '../jobs/payloads.js';
import type { CliContext } from './context.js';

/** The queues of the running daemon, found through REDIS_URL or the data dir (SPEC §5). */
export function openQueues(context: CliContext) {
  const { config } = context;
  const connection = buildRedisOptions(config, false);
  const options = { connection, prefix: config.queuePrefix, defaultJobOptions: buildJobOptions(config) };
  const actions: ActionQueue = new Queue(actionQueueName, options);
  const scans = new Queue<JobPayloads['scan'], ScanResult, 'scan'>(scanQueueName, options);
  for (const queue of [actions, scans] as { on(event: 'error', listener: (error: Error) => void): unknown }[]) {
    queue.on('error', () => {}); // reported by the command that fails, not as an uncaught event
  }
  context.onClose(async () => {
    await closeWithin(Promise.all([actions.close(), scans.close()]), [actions, scans]);
  });
  return { actions, scans, connection };
}

/** Has the daemon scan now and waits for the result. */
export async function requestScan(context: CliContext, asOf: string, timeoutMs = 10 * 60_000): Promise<ScanResult> {
  const { scans, connection } = openQueues(context);
  // A blocking connection: BullMQ wants (and warns unless) maxRetriesPerRequest is null.
  const events = new QueueEvents(scanQueueName, { connection: { ...connection, maxRetriesPerRequest: null }, prefix: context.config.queuePrefix });
  events.on('error', () => {});
  context.onClose(() => closeWithin(events.close(), [events]));
  await withDeadline(events.waitUntilReady(), cliConnectTimeoutMs + 500, 'Redis');
  const job = await scans.add('scan', { trigger: 'operator', asOf }, { jobId: `operator-${asOf}-${Date.now()}` });
  return (await job.waitUntilFinished(events, timeoutMs)) as ScanResult;
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
