import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config.js';
import { postJson } from '../http/post-json.js';
import { redact } from '../redact.js';
import { buildEventBody, countEventAttempt, type EventRow, findEvent, markEventDelivered, markEventUndelivered } from '../store/events.js';
import type { JobDeps } from './deps.js';

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

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the key after `whsec_`. */
export function signEvent(secret: string, eventId: string, timestamp: number, body: string): string {
  // The body hashed as a second part: no copy of it in a concatenated string.
  return `v1,${createHmac('sha256', findSigningKey(secret)).update(`${eventId}.${timestamp}.`).update(body).digest('base64')}`;
}

// The secret's key, decoded once: a daemon signs every event under the same secret, and a
// KeyObject spares createHmac a copy of the key per event.
let signingKey: { secret: string; key: KeyObject } | null = null;

function findSigningKey(secret: string): KeyObject {
  if (signingKey?.secret !== secret) signingKey = { secret, key: createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64')) };
  return signingKey.key;
}

/**
 * POSTs one event, signed (Standard Webhooks). Resolves to null when the receiver acknowledged it
 * (2xx), else to why not: its status, or the connection's failure.
 */
export async function postEvent(deps: Pick<JobDeps, 'config' | 'now'>, event: EventRow): Promise<string | null> {
  const { config } = deps;
  const body = buildEventBody(event);
  const timestamp = Math.floor(deps.now().getTime() / 1000);
  try {
    const answer = await postJson(config.eventsWebhookUrl!, body, {
      headers: {
        'webhook-id': event.event_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signEvent(config.eventsWebhookSecret!, event.event_id, timestamp, body),
      },
      connectTimeoutMs: config.httpConnectTimeoutMs,
      timeoutMs: config.httpTimeoutMs,
    });
    return answer.status >= 200 && answer.status < 300 ? null : `the receiver answered ${answer.status}`;
  } catch (failure) {
    return (failure as Error).message;
  }
}

type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** At most `limit` tasks at once; the others wait their turn in order. */
export function createLimiter(limit: number): Limiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

// One bound per process (per JobDeps): however many jobs deliver events at once (batches and
// single retries), at most WORKER_CONCURRENCY events are in flight to the receiver.
const limiterByDeps = new WeakMap<object, Limiter>();

export function findLimiter(deps: JobDeps): Limiter {
  let limiter = limiterByDeps.get(deps);
  if (!limiter) limiterByDeps.set(deps, (limiter = createLimiter(Math.max(1, deps.config.workerConcurrency))));
  return limiter;
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
  const error = await findLimiter(deps)(() => postEvent(deps, event));
  if (error === null) {
    await markEventDelivered(store, event.id, deps.now());
    return { outcome: 'delivered' };
  }
  await markEventUndelivered(store, event.id, redact(error).slice(0, 500), isLastAttempt);
  throw new EventDeliveryError(`event ${event.event_id} (${event.type}): ${error}`);
}
