import type { Config } from '../config.js';
import { redact } from '../redact.js';
import { markEventsDelivered, markEventUndelivered, startEventAttempts, type EventRow } from '../store/events.js';
import { eventAttempts, eventBackoffType, findEventBackoffMs, findLimiter, postEvent } from './deliver-event.js';
import type { JobDeps } from './deps.js';
import { buildEventJobId, type ActionQueue } from './queues.js';

/**
 * The most events one `deliver-events` job carries. A job costs several Redis round trips and
 * Lua calls (fetch, lock, completion): one per batch instead of one per event is what lets the
 * daemon keep up with the receiver (bench/events.ts: 200 reached a median 79 % of a bare client on
 * a quiet machine, 50 reached 74 %). A batch's POSTs still go at most WORKER_CONCURRENCY at once,
 * and the worker renews the job's lock while they run.
 */
export const eventBatchSize = 200;

export interface BatchOutcome {
  delivered: number;
  /** Refused or unreachable: each retried on a `deliver-event` job of its own. */
  retrying: number;
  /** Delivered already (by a redelivery or an earlier run of this job), or unknown. */
  skipped: number;
}

/**
 * One `deliver-events` job: the batch's events not yet delivered, each attempt counted first,
 * POSTed concurrently within the process's bound; the acknowledged ones marked delivered, each
 * other one marked with its error and handed to a `deliver-event` job of its own, which retries
 * it with backoff (eventAttempts in all, counting this one). A crash midway leaves the job to run
 * again (its lock expires): events delivered meanwhile are skipped, the others sent again under
 * the same webhook-id (at least once).
 */
export async function deliverEventBatch(deps: JobDeps, eventIds: readonly string[]): Promise<BatchOutcome> {
  const { store, config } = deps;
  if (!config.eventsWebhookUrl || !config.eventsWebhookSecret) return { delivered: 0, retrying: 0, skipped: eventIds.length };
  const events = await startEventAttempts(store, eventIds);
  const limit = findLimiter(deps);
  const delivered: number[] = [];
  const refused: { event: EventRow; error: string }[] = [];
  await Promise.all(
    events.map((event) =>
      limit(async () => {
        const error = await postEvent(deps, event);
        if (error === null) delivered.push(event.id);
        else refused.push({ event, error });
      }),
    ),
  );
  await markEventsDelivered(store, delivered, deps.now());
  for (const { event, error } of refused) await markEventUndelivered(store, event.id, redact(error).slice(0, 500), false);
  if (refused.length > 0) {
    deps.log.warn({ refused: refused.length, first: redact(refused[0]!.error) }, 'events not delivered: each is retried with backoff');
    await enqueueEventRetries(deps.queue, config, refused.map(({ event }) => event.event_id));
  }
  return { delivered: delivered.length, retrying: refused.length, skipped: eventIds.length - events.length };
}

/**
 * Hands events a batch could not deliver to jobs of their own (`deliver-event`, id `event.<id>`),
 * first tried after one backoff, with the attempts left. One that has such a job already keeps
 * it: a failed one is retried with its attempts reset, a waiting or delayed one left to run.
 */
export async function enqueueEventRetries(queue: ActionQueue, config: Pick<Config, 'jobBackoffMs'>, eventIds: readonly string[]): Promise<void> {
  const toAdd: string[] = [];
  for (const eventId of eventIds) {
    const job = await queue.getJob(buildEventJobId(eventId));
    const state = job ? await job.getState() : 'unknown';
    if (job && state === 'failed') await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    else if (!job || state === 'completed' || state === 'unknown') {
      if (job && state === 'completed') await job.remove();
      toAdd.push(eventId);
    }
  }
  if (toAdd.length === 0) return;
  await queue.addBulk(
    toAdd.map((eventId) => ({
      name: 'deliver-event' as const,
      data: { eventId, attemptsBefore: 1 },
      opts: {
        jobId: buildEventJobId(eventId),
        delay: findEventBackoffMs(config, 1),
        attempts: eventAttempts - 1,
        backoff: { type: eventBackoffType, delay: config.jobBackoffMs },
        removeOnComplete: true,
      },
    })),
  );
}
