import { Queue, QueueEvents } from 'bullmq';
import { buildRedisOptions } from '../redis/connect.js';
import { actionQueueName, buildJobOptions, enqueueDelivery, scanQueueName, type ActionQueue } from '../jobs/queues.js';
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
    await Promise.all([actions.close(), scans.close()]);
  });
  return { actions, scans, connection };
}

/** Has the daemon scan now and waits for the result. */
export async function requestScan(context: CliContext, asOf: string, timeoutMs = 10 * 60_000): Promise<ScanResult> {
  const { scans, connection } = openQueues(context);
  const events = new QueueEvents(scanQueueName, { connection, prefix: context.config.queuePrefix });
  events.on('error', () => {});
  context.onClose(() => events.close());
  await events.waitUntilReady();
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
