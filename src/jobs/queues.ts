import { randomUUID } from 'node:crypto';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../config.js';
import type { LifecycleAction } from '../policy/types.js';
import { dropWrittenEvents, markEventsForRedelivery, takeCommittedEvents, type EventRow } from '../store/events.js';
import type { Executor } from '../store/executor.js';
import type { NoticeRow } from '../store/notices.js';
import { eventAttempts, eventBackoffType } from './deliver-event.js';
import { eventBatchSize } from './deliver-events.js';
import type { ActionJobData, JobName, JobPayloads } from './payloads.js';

export const actionQueueName = 'actions';
export const scanQueueName = 'scans';
export const dailyScanSchedulerId = 'daily-scan';

/** BullMQ job ids must not contain ':'; ids from the import may. */
function encodeIdPart(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** Deterministic: the same action of the same cycle is the same job, however often it is found due. */
export function buildActionJobId(action: LifecycleAction, subscription: string, anniversary: string): string {
  return `${action}.${encodeIdPart(subscription)}.${anniversary}`;
}

export function buildDeliverJobId(messageId: string): string {
  return `deliver.${encodeIdPart(messageId)}`;
}

export function buildJobOptions(config: Pick<Config, 'jobAttempts' | 'jobBackoffMs'>): JobsOptions {
  return {
    attempts: config.jobAttempts,
    backoff: { type: 'exponential', delay: config.jobBackoffMs },
    // Completed jobs stay a week so a re-scan's add of the same id is ignored; the ledger is the
    // real once-only guarantee after that.
    removeOnComplete: { age: 7 * 24 * 3600, count: 1_000_000 },
    // Failed jobs stay for operators to inspect and retry.
    removeOnFail: { age: 90 * 24 * 3600 },
  };
}

export type ActionQueue = Queue<JobPayloads[JobName], unknown, JobName>;

export interface Queues {
  actions: ActionQueue;
  scans: Queue<JobPayloads['scan'], unknown, 'scan'>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string, config: Pick<Config, 'jobAttempts' | 'jobBackoffMs'>): Queues {
  const defaultJobOptions = buildJobOptions(config);
  const actions: ActionQueue = new Queue(actionQueueName, { connection, prefix, defaultJobOptions });
  const scans = new Queue<JobPayloads['scan'], unknown, 'scan'>(scanQueueName, {
    connection,
    prefix,
    defaultJobOptions: { ...defaultJobOptions, removeOnComplete: { age: 30 * 24 * 3600 } },
  });
  return {
    actions,
    scans,
    close: async () => {
      await Promise.all([actions.close(), scans.close()]);
    },
  };
}

export interface ActionToEnqueue {
  action: LifecycleAction;
  data: ActionJobData;
}

/** Adds action jobs in bulk; an id already present is ignored by BullMQ. */
export async function enqueueActions(queue: ActionQueue, items: readonly ActionToEnqueue[]): Promise<void> {
  if (items.length === 0) return;
  await queue.addBulk(
    items.map(({ action, data }) => ({
      name: action,
      data,
      opts: { jobId: buildActionJobId(action, data.subscription, data.anniversary) },
    })),
  );
}

export async function enqueueDelivery(queue: ActionQueue, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await queue.addBulk(messageIds.map((messageId) => ({ name: 'deliver' as const, data: { messageId }, opts: { jobId: buildDeliverJobId(messageId) } })));
}

const unfinishedStates = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Resolves once the queue has nothing waiting, running or due for a retry. */
export async function waitUntilIdle(queue: ActionQueue, pollMs = 10): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts(...unfinishedStates);
    if (unfinishedStates.every((state) => (counts[state] ?? 0) === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * The action job whose effect wrote a notice; operator notices (`renewed`) have none. An
 * `invoice-pending` written by an operator finds that cycle's auto-renew job finished, and falls
 * through to a delivery job of its own.
 */
const actionOfNotice: Readonly<Record<string, LifecycleAction | undefined>> = {
  'remind-before': 'remind-before',
  'remind-after': 'remind-after',
  'auto-renew-receipt': 'auto-renew',
  'auto-renew-failed': 'auto-renew',
  'invoice-pending': 'auto-renew',
  lapsed: 'lapse',
};

/**
 * The outbox's safety net, run by every scan: each notice still pending gets a job that will
 * deliver it. A job that failed for good (SMTP down longer than its retries) is retried with its
 * attempts reset, since adding its id again would be ignored while it exists; a notice whose job
 * was lost (Redis lost its data) gets a delivery job. Returns how many were re-queued.
 */
export async function requeuePendingNotices(queue: ActionQueue, notices: readonly NoticeRow[]): Promise<number> {
  let requeued = 0;
  const toDeliver: string[] = [];
  for (const notice of notices) {
    const action = actionOfNotice[notice.kind];
    const ids = [
      ...(action ? [buildActionJobId(action, notice.subscription_id, notice.anniversary_on)] : []),
      buildDeliverJobId(notice.message_id),
    ];
    let isQueued = false;
    for (const id of ids) {
      const job = await queue.getJob(id);
      if (!job) continue;
      const state = await job.getState();
      if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        requeued++;
        isQueued = true;
        break;
      }
      if (state !== 'completed' && state !== 'unknown') {
        isQueued = true; // waiting, delayed or running: it delivers the notice itself
        break;
      }
    }
    if (!isQueued) toDeliver.push(notice.message_id);
  }
  await enqueueDelivery(queue, toDeliver);
  return requeued + toDeliver.length;
}

export function buildEventJobId(eventId: string): string {
  return `event.${encodeIdPart(eventId)}`;
}

const batchJobIdPrefix = 'events.';

/** A batch's own id, never reused, named so that the outbox's safety net finds the batches in Redis without reading every job. */
function buildBatchJobId(): string {
  return `${batchJobIdPrefix}${randomUUID()}`;
}

/**
 * Adds `deliver-events` jobs of up to eventBatchSize events each, in feed order: one job per
 * batch, not per event, since the job's Redis round trips cost more than the POST. An event that
 * a batch cannot deliver gets a `deliver-event` job of its own (id `event.<id>`), which retries it.
 */
export async function enqueueEvents(queue: ActionQueue, config: Pick<Config, 'jobBackoffMs'>, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  const batches: string[][] = [];
  for (let start = 0; start < eventIds.length; start += eventBatchSize) batches.push(eventIds.slice(start, start + eventBatchSize));
  await queue.addBulk(
    batches.map((batch) => ({
      name: 'deliver-events' as const,
      data: { eventIds: batch },
      // An id of its own, not an event's: a batch is not an event. The job itself fails only when the
      // database or Redis does; it retries as an event would, and past that its events stay pending for the next scan.
      opts: { jobId: buildBatchJobId(), attempts: eventAttempts, backoff: { type: eventBackoffType, delay: config.jobBackoffMs }, removeOnComplete: true },
    })),
  );
}

/**
 * The events outbox's safety net, run by every scan when EVENTS_WEBHOOK_URL is set: an event not
 * delivered gets a job again (a failed one is retried with its attempts reset, a lost one added).
 */
export async function requeueUndeliveredEvents(queue: ActionQueue, config: Pick<Config, 'jobBackoffMs'>, events: readonly EventRow[]): Promise<number> {
  if (events.length === 0) return 0;
  let requeued = 0;
  const toAdd: string[] = [];
  // A batch job waiting or running (here or on another host) delivers its events itself: a second
  // job for one of them would POST it twice.
  const batched = await findEventsInLiveBatches(queue);
  for (const event of events) {
    if (batched.has(event.event_id)) continue;
    const job = await queue.getJob(buildEventJobId(event.event_id));
    const state = job ? await job.getState() : 'unknown';
    if (job && state === 'failed') {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      requeued++;
    } else if (!job || state === 'completed' || state === 'unknown') {
      // A completed job of an undelivered event ran before the URL was set: it goes again.
      if (job && state === 'completed') await job.remove();
      toAdd.push(event.event_id);
    }
  }
  await enqueueEvents(queue, config, toAdd);
  return requeued + toAdd.length;
}

/**
 * The events of the `deliver-events` jobs not finished yet. Their ids are read state by state in
 * the order a job moves (delayed → waiting → active), each list whole, so a job moving meanwhile is
 * still seen; only batch jobs (id `events.…`) are fetched.
 */
async function findEventsInLiveBatches(queue: ActionQueue): Promise<Set<string>> {
  const eventIds = new Set<string>();
  const jobIds: string[] = [];
  for (const state of ['delayed', 'prioritized', 'waiting', 'active'] as const) {
    for (const id of await queue.getRanges([state], 0, -1)) if (id.startsWith(batchJobIdPrefix)) jobIds.push(id);
  }
  for (const id of new Set(jobIds)) {
    const job = await queue.getJob(id);
    if (job?.name === 'deliver-events') for (const eventId of (job.data as JobPayloads['deliver-events']).eventIds) eventIds.add(eventId);
  }
  return eventIds;
}

/** Queues the events this process wrote to `store` once their transactions committed; none without EVENTS_WEBHOOK_URL. */
export async function flushWrittenEvents(queue: ActionQueue, config: Pick<Config, 'jobBackoffMs' | 'eventsWebhookUrl'>, store: Executor): Promise<void> {
  if (!config.eventsWebhookUrl) {
    dropWrittenEvents();
    return;
  }
  await enqueueEvents(queue, config, await takeCommittedEvents(store));
}

/** The most events one redelivery may cover: a larger range is several calls. */
export const maxRedelivery = 10_000;

/**
 * An operator's redelivery: the events `from`…`to` (feed ids) go again with their own
 * `webhook-id`, delivered or not. A job still waiting or retrying is left to run. Returns the ids.
 */
export async function redeliverEvents(queue: ActionQueue, config: Pick<Config, 'jobBackoffMs'>, store: Executor, from: number, to: number): Promise<string[]> {
  const eventIds = await markEventsForRedelivery(store, from, to);
  const toAdd: string[] = [];
  for (const eventId of eventIds) {
    const job = await queue.getJob(buildEventJobId(eventId));
    const state = job ? await job.getState() : 'unknown';
    if (job && (state === 'completed' || state === 'failed')) await job.remove();
    if (!job || state === 'completed' || state === 'failed' || state === 'unknown') toAdd.push(eventId);
  }
  await enqueueEvents(queue, config, toAdd);
  return eventIds;
}
