import type { Config } from '../config.js';
import { redact } from '../redact.js';
import { countEventAttempt, type EventRow, findEvent, markEventDelivered, markEventUndelivered } from '../store/events.js';
import type { JobDeps } from './deps.js';
import { noAnswer, sendEvents } from './event-sender.js';

/** The backoff type of event deliveries: doubling from JOB_BACKOFF_MS, capped (eventBackoffCapMs). */
export const eventBackoffType = 'event-delivery';
/** Retries are at most an hour apart, so a receiver back after a day gets its events within the hour. */
export const eventBackoffCapMs = 3_600_000;
/** With the cap, 40 attempts span about 30 hours (JOB_BACKOFF_MS 5000); past that, every scan tries the failed ones again. */
export const eventAttempts = 40;

/** BullMQ's custom backoff strategy for `event-delivery` (worker setting `backoffStrategy`). */
export function findEventBackoffMs(config: Pick<Config, 'jobBackoffMs'>, attemptsMade: number): number {
  return Math.min(eventBackoffCapMs, config.jobBackoffMs * 2 ** Math.max(0, attemptsMade - 1));
}

/** Why a delivery did not take: the receiver's status, or the connection's failure. */
export class EventDeliveryError extends Error {
  override name = 'EventDeliveryError';
}

interface DeliveryOutcome {
  outcome: 'delivered' | 'already-delivered' | 'unknown' | 'not-configured';
}

/**
 * POSTs one event; a 2xx marks it delivered, anything else throws to be retried. The attempt is
 * counted first, so `attempts` tells operators how often the receiver was tried.
 */
export async function deliverEvent(deps: JobDeps, eventId: string, isLastAttempt: boolean): Promise<DeliveryOutcome> {
  const { store, config } = deps;
  const event = await findEvent(store, eventId);
  if (!event) return { outcome: 'unknown' };
  if (event.status === 'delivered') return { outcome: 'already-delivered' };
  if (!config.eventsWebhookUrl || !config.eventsWebhookSecret) return { outcome: 'not-configured' };
  await countEventAttempt(store, event.id);
  const [answer] = await sendEvents(deps, [event]);
  if (answer === null) {
    await markEventDelivered(store, event.id, deps.now());
    return { outcome: 'delivered' };
  }
  const error = answer ?? noAnswer;
  await markEventUndelivered(store, event.id, redact(error).slice(0, 500), isLastAttempt);
  throw new EventDeliveryError(`event ${event.event_id} (${event.type}): ${error}`);
}
