import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A benefits system's receiver of the daemon's lifecycle events: a real HTTP server that verifies
 * every request with the standardwebhooks package (a bad signature: 400, noted in
 * `refusedSignatures`) and answers the others by its mode and refusals.
 */

/** 'up': 204; 'down': 503; 'hold': the first `maxHeld` requests left unanswered, the rest 503. */
export type ReceiverMode = 'up' | 'down' | 'hold';

export interface EventBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookDelivery {
  /** The request's webhook-id. */
  id: string;
  status: 204 | 503;
  type: string;
  body: EventBody;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every verified request answered, in the order answered. */
  readonly deliveries: WebhookDelivery[];
  readonly refusedSignatures: string[];
  /** The requests left unanswered in mode 'hold'. */
  readonly held: { id: string; response: http.ServerResponse }[];
  readonly state: { mode: ReceiverMode };
  /** webhook-id → how many more times it is answered 503 while up (Infinity: until deleted). */
  readonly refusals: Map<string, number>;
  /** Requests received and not yet answered: now, and the most at once. */
  readonly inFlight: { now: number; most: number };
  /** The deliveries answered 204. */
  acknowledged(): WebhookDelivery[];
  /** The held requests' connections are cut: their senders learn nothing. */
  dropHeld(): void;
  close(): Promise<void>;
}

export interface WebhookReceiverOptions {
  /** @defaultValue 'up' */
  mode?: ReceiverMode;
  /** How many requests mode 'hold' leaves unanswered: few, so that the workers they occupy stay few. @defaultValue 3 */
  maxHeld?: number;
  /** A pause before each answer, so that requests overlap (a concurrency bound under test). @defaultValue 0 */
  answerDelayMs?: number;
}

/** Whether this webhook-id is refused this time, counting the refusal down. */
function takeRefusal(refusals: Map<string, number>, id: string): boolean {
  const left = refusals.get(id);
  if (left === undefined) return false;
  if (left <= 1) refusals.delete(id);
  else refusals.set(id, left - 1);
  return true;
}

export async function startWebhookReceiver(secret: string, options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const maxHeld = options.maxHeld ?? 3;
  const deliveries: WebhookDelivery[] = [];
  const refusedSignatures: string[] = [];
  const held: WebhookReceiver['held'] = [];
  const state = { mode: options.mode ?? 'up' };
  const refusals = new Map<string, number>();
  const inFlight = { now: 0, most: 0 };
  const answer = (response: http.ServerResponse, status: number) => {
    const send = () => {
      inFlight.now--;
      response.writeHead(status).end();
    };
    if (options.answerDelayMs) setTimeout(send, options.answerDelayMs);
    else send();
  };
  const server = http.createServer((request, response) => {
    inFlight.now++;
    inFlight.most = Math.max(inFlight.most, inFlight.now);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: EventBody;
      try {
        body = verifier.verify(text, request.headers as Record<string, string>) as EventBody;
      } catch (error) {
        refusedSignatures.push((error as Error).message);
        answer(response, 400);
        return;
      }
      const id = String(request.headers['webhook-id']);
      if (state.mode === 'hold' && held.length < maxHeld) {
        held.push({ id, response });
        return;
      }
      const status = state.mode === 'up' && !takeRefusal(refusals, id) ? 204 : 503;
      deliveries.push({ id, status, type: body.type, body });
      answer(response, status);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lifecycle`,
    deliveries,
    refusedSignatures,
    held,
    state,
    refusals,
    inFlight,
    acknowledged: () => deliveries.filter((d) => d.status === 204),
    dropHeld: () => {
      for (const { response } of held.splice(0)) {
        inFlight.now--;
        response.socket?.destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
