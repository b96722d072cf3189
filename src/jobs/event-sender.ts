import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import { postJson } from '../http/post-json.js';
import { buildEventBody, type EventRow } from '../store/events.js';
import { startWorkerThread } from '../worker-thread.js';

/**
 * Events are signed and POSTed on a thread of their own (event-sender-worker.ts), one per process
 * (per JobDeps): the daemon's thread runs the jobs, the database and Redis, and delivery no longer
 * waits on that work, nor that work on the HTTP client's. The thread holds the bound: however many
 * jobs deliver events at once (batches and single retries), at most WORKER_CONCURRENCY events are
 * in flight to the receiver.
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

/** Why an event has no answer, should one be missing: it counts as not delivered. */
export const noAnswer = 'no answer from the event sender thread';

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

interface EventSender {
  send(events: OutgoingEvent[], clockOffsetMs: number): Promise<(string | null)[]>;
  close(): Promise<void>;
}

const senderByDeps = new WeakMap<object, EventSender>();

/**
 * The thread, started on first use. Should it stop (it failed, or was closed), the events it held
 * are answered with that failure, to be retried like a refusal, and the next send starts a new one.
 */
function startEventSender(key: object, data: EventSenderData): EventSender {
  const thread: Worker = startWorkerThread(import.meta.url, 'event-sender-worker', { workerData: data });
  const waiting = new Map<number, { size: number; resolve: (errors: (string | null)[]) => void }>();
  let lastId = 0;
  let failure = 'the event sender thread stopped';
  // Idle, the thread does not keep the process alive; while it holds events it does.
  thread.unref();
  thread.on('message', (answer: SendAnswer) => {
    const request = waiting.get(answer.id);
    waiting.delete(answer.id);
    if (waiting.size === 0) thread.unref();
    request?.resolve(answer.errors);
  });
  thread.on('error', (error) => (failure = `the event sender thread failed: ${error.message}`));
  thread.on('exit', () => {
    if (senderByDeps.get(key) === sender) senderByDeps.delete(key);
    for (const request of waiting.values()) request.resolve(Array.from({ length: request.size }, () => failure));
    waiting.clear();
  });
  const sender: EventSender = {
    send: (events, clockOffsetMs) =>
      new Promise((resolve) => {
        const id = ++lastId;
        if (waiting.size === 0) thread.ref();
        waiting.set(id, { size: events.length, resolve });
        thread.postMessage({ id, clockOffsetMs, events } satisfies SendRequest);
      }),
    close: async () => {
      senderByDeps.delete(key);
      await thread.terminate();
    },
  };
  return sender;
}

/**
 * Signs and POSTs `events` on the process's sender thread. Per event, in order: null when the
 * receiver acknowledged it, else why not. Needs EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET.
 */
export async function sendEvents(
  deps: { config: Readonly<Config>; now(): Date },
  events: readonly Pick<EventRow, 'event_id' | 'type' | 'occurred_at' | 'data'>[],
): Promise<(string | null)[]> {
  if (events.length === 0) return [];
  const { config } = deps;
  let sender = senderByDeps.get(deps);
  if (!sender) {
    sender = startEventSender(deps, {
      url: config.eventsWebhookUrl!,
      secret: config.eventsWebhookSecret!,
      connectTimeoutMs: config.httpConnectTimeoutMs,
      timeoutMs: config.httpTimeoutMs,
      maxInFlight: Math.max(1, config.workerConcurrency),
    });
    senderByDeps.set(deps, sender);
  }
  const outgoing = events.map((event) => ({ eventId: event.event_id, body: buildEventBody(event) }));
  return sender.send(outgoing, deps.now().getTime() - Date.now());
}

/** Stops the process's sender thread, if it runs (shutdown: the jobs are done or abandoned). */
export async function closeEventSender(deps: object): Promise<void> {
  await senderByDeps.get(deps)?.close();
}
