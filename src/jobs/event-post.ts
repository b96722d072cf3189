import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { postJson } from '../http/post-json.js';

/**
 * What the event sender thread (event-sender-worker.ts) does: sign and POST one event, within a
 * bound. Kept apart from event-sender.ts so that the thread loads no more than it needs.
 */

export interface EventSenderData {
  url: string;
  secret: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  maxInFlight: number;
}

export interface OutgoingEvent {
  eventId: string;
  body: string;
}

/** Events to POST; `clockOffsetMs` is the daemon's clock (JobDeps.now) minus the thread's, for webhook-timestamp. */
export interface SendRequest {
  id: number;
  clockOffsetMs: number;
  events: OutgoingEvent[];
}

/** Per event, in the request's order: null when the receiver acknowledged it (2xx), else why not. */
export interface SendAnswer {
  id: number;
  errors: (string | null)[];
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
 * POSTs one event, signed (Standard Webhooks) at the moment it goes. Resolves to null when the
 * receiver acknowledged it (2xx), else to why not: its status, or the connection's failure.
 */
export async function postSignedEvent(settings: EventSenderData, event: OutgoingEvent, nowMs: number): Promise<string | null> {
  const timestamp = Math.floor(nowMs / 1000);
  try {
    const answer = await postJson(settings.url, event.body, {
      headers: {
        'webhook-id': event.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signEvent(settings.secret, event.eventId, timestamp, event.body),
      },
      connectTimeoutMs: settings.connectTimeoutMs,
      timeoutMs: settings.timeoutMs,
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
