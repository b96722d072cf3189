/**
 * Worker thread entry (event-sender.ts, event-post.ts): signs and POSTs the events it is sent, at most
 * `maxInFlight` at once over all requests, and answers each request once all its events are done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLimiter, postSignedEvent, type EventSenderData, type SendAnswer, type SendRequest } from './event-post.js';

const port = parentPort!;
const settings = workerData as EventSenderData;
const limit = createLimiter(settings.maxInFlight);

port.on('message', async (request: SendRequest) => {
  const errors = await Promise.all(request.events.map((event) => limit(() => postSignedEvent(settings, event, Date.now() + request.clockOffsetMs))));
  port.postMessage({ id: request.id, errors } satisfies SendAnswer);
});
port.postMessage('ready');
