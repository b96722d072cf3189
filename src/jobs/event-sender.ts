import type { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import { buildEventBody, type EventRow } from '../store/events.js';
import { startWorkerThread } from '../worker-thread.js';
import type { EventSenderData, OutgoingEvent, SendAnswer, SendRequest } from './event-post.js';

/**
 * Events are signed and POSTed on a thread of their own (event-sender-worker.ts), one per process
 * (per JobDeps): the daemon's thread runs the jobs, the database and Redis, and delivery no longer
 * waits on that work, nor that work on the HTTP client's. The thread holds the bound: however many
 * jobs deliver events at once (batches and single retries), at most WORKER_CONCURRENCY events are
 * in flight to the receiver.
 */

/** Why an event has no answer, should one be missing: it counts as not delivered. */
export const noAnswer = 'no answer from the event sender thread';

interface EventSender {
  /** Settles once the thread has loaded its code (or stopped). */
  ready: Promise<void>;
  send(events: OutgoingEvent[], clockOffsetMs: number): Promise<(string | null)[]>;
  close(): Promise<void>;
}

const senderByDeps = new WeakMap<object, EventSender>();

/**
 * The thread. Should it stop (it failed, or was closed), the events it held
 * are answered with that failure, to be retried like a refusal, and the next send starts a new one.
 */
function startEventSender(key: object, data: EventSenderData): EventSender {
  const thread: Worker = startWorkerThread(import.meta.url, 'event-sender-worker', { workerData: data });
  const waiting = new Map<number, { size: number; resolve: (errors: (string | null)[]) => void }>();
  let lastId = 0;
  let failure = 'the event sender thread stopped';
  let isReady!: () => void;
  const ready = new Promise<void>((resolve) => (isReady = resolve));
  // Idle, the thread does not keep the process alive; while it holds events it does.
  thread.unref();
  thread.on('message', (answer: SendAnswer | 'ready') => {
    if (answer === 'ready') return isReady();
    const request = waiting.get(answer.id);
    waiting.delete(answer.id);
    if (waiting.size === 0) thread.unref();
    request?.resolve(answer.errors);
  });
  thread.on('error', (error) => (failure = `the event sender thread failed: ${error.message}`));
  thread.on('exit', () => {
    isReady();
    if (senderByDeps.get(key) === sender) senderByDeps.delete(key);
    for (const request of waiting.values()) request.resolve(Array.from({ length: request.size }, () => failure));
    waiting.clear();
  });
  const sender: EventSender = {
    ready,
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

type SenderDeps = { config: Readonly<Config>; now(): Date };

function findEventSender(deps: SenderDeps): EventSender {
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
  return sender;
}

/** Starts the process's sender thread and waits until it is ready: the first events do not wait for its start. */
export async function openEventSender(deps: SenderDeps): Promise<void> {
  await findEventSender(deps).ready;
}

/**
 * Signs and POSTs `events` on the process's sender thread (started if need be). Per event, in
 * order: null when the receiver acknowledged it, else why not. Needs EVENTS_WEBHOOK_URL and
 * EVENTS_WEBHOOK_SECRET.
 */
export async function sendEvents(deps: SenderDeps, events: readonly Pick<EventRow, 'event_id' | 'type' | 'occurred_at' | 'data'>[]): Promise<(string | null)[]> {
  if (events.length === 0) return [];
  const outgoing = events.map((event) => ({ eventId: event.event_id, body: buildEventBody(event) }));
  return findEventSender(deps).send(outgoing, deps.now().getTime() - Date.now());
}

/** Stops the process's sender thread, if it runs (shutdown: the jobs are done or abandoned). */
export async function closeEventSender(deps: object): Promise<void> {
  await senderByDeps.get(deps)?.close();
}
