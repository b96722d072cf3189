import type { Job } from 'bullmq';
import { findDueActions } from '../policy/due.js';
import { lifecycleActions, type LifecycleAction } from '../policy/types.js';
import { findLedgerOutcome } from '../store/ledger.js';
import { findSubscription } from '../store/queries.js';
import { processAutoRenew } from './auto-renew.js';
import type { JobDeps } from './deps.js';
import { deliverNotice } from './deliver.js';
import { deliverEvent } from './deliver-event.js';
import { deliverEventBatch } from './deliver-events.js';
import { processLapse } from './lapse.js';
import type { ActionJobData, JobName, JobPayloads } from './payloads.js';
import { enqueueActions, flushWrittenEvents } from './queues.js';
import { processReminder } from './remind.js';

function isLifecycleAction(name: string): name is LifecycleAction {
  return (lifecycleActions as readonly string[]).includes(name);
}

async function runAction(deps: JobDeps, action: LifecycleAction, data: ActionJobData, jobId: string | undefined): Promise<string> {
  switch (action) {
    case 'remind-before':
    case 'remind-after':
      return processReminder(deps, action, data, jobId);
    case 'auto-renew':
      return processAutoRenew(deps, data, jobId);
    case 'lapse':
      return processLapse(deps, data, jobId);
  }
}

/**
 * A job that recorded nothing in the ledger (not yet due, unknown partner, …) must not hold its
 * deterministic id: kept as completed, it would make a later scan's add of the same id a no-op
 * and the action would never run. BullMQ reads `removeOnComplete` from this job object when it
 * moves it to completed, so the removal happens in the same Lua call: no window in between.
 */
function releaseJobId(job: Job): void {
  job.opts.removeOnComplete = true;
}

/**
 * The processor of the actions queue. After an action, the subscription's next due action is
 * enqueued, so one subscription's jobs run in cycle order (auto-renew before the reminder after,
 * before the lapse). A crash before that enqueue leaves this job to be retried, which re-enqueues.
 */
export function createActionProcessor(deps: JobDeps) {
  const processJob = createJobProcessor(deps);
  return async (job: Job<JobPayloads[JobName], unknown, JobName>): Promise<string> => {
    try {
      return await processJob(job);
    } finally {
      // The events its transactions wrote go out now; should Redis fail here, the next scan queues them.
      await flushWrittenEvents(deps.queue, deps.config, deps.store).catch((error: unknown) =>
        deps.log.warn({ err: error, jobId: job.id }, 'events written but not queued: the next scan queues them'),
      );
    }
  };
}

function createJobProcessor(deps: JobDeps) {
  return async (job: Job<JobPayloads[JobName], unknown, JobName>): Promise<string> => {
    if (job.name === 'deliver-event') {
      const { eventId } = job.data as JobPayloads['deliver-event'];
      const { outcome } = await deliverEvent(deps, eventId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
      return outcome;
    }
    if (job.name === 'deliver-events') {
      const { eventIds } = job.data as JobPayloads['deliver-events'];
      const outcome = await deliverEventBatch(deps, eventIds);
      return `${outcome.delivered} delivered, ${outcome.retrying} retrying, ${outcome.skipped} skipped`;
    }
    if (job.name === 'deliver') {
      const { messageId } = job.data as JobPayloads['deliver'];
      const { outcome, subscription } = await deliverNotice(deps, messageId);
      deps.log.debug({ queue: job.queueName, job: job.name, jobId: job.id, subscription, outcome, messageId }, 'delivery done');
      return outcome;
    }
    if (!isLifecycleAction(job.name)) throw new Error(`unknown job name "${job.name}"`);
    const action = job.name;
    const data = job.data as ActionJobData;
    const log = deps.log.child({ queue: job.queueName, job: action, jobId: job.id, subscription: data.subscription });
    // A retry of an action already in the ledger is not a new effect: metrics count each entry once.
    const wasRecorded = (await findLedgerOutcome(deps.store, data.subscription, action, data.anniversary)) !== null;
    let outcome: string;
    try {
      outcome = await runAction(deps, action, data, job.id);
    } catch (error) {
      // The effect may be recorded with its notice still undelivered: that entry counts now.
      const recorded = wasRecorded ? null : await findLedgerOutcome(deps.store, data.subscription, action, data.anniversary);
      if (recorded !== null) deps.observer?.recordAction(action, recorded);
      throw error;
    }
    if (!wasRecorded) deps.observer?.recordAction(action, outcome);
    if (!wasRecorded && (await findLedgerOutcome(deps.store, data.subscription, action, data.anniversary)) === null) releaseJobId(job);
    log.info({ outcome, anniversary: data.anniversary }, 'action done');
    const subscription = await findSubscription(deps.store, data.subscription);
    const next = subscription ? findDueActions(subscription, deps.today())[0] : undefined;
    if (subscription && next) {
      await enqueueActions(deps.queue, [
        { action: next, data: { subscription: subscription.id, anniversary: subscription.anniversaryOn, foundOn: deps.today() } },
      ]);
    }
    return outcome;
  };
}
