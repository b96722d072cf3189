import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { redactValue } from '../../redact.js';
import type { AdminContext } from '../context.js';
import { findSessionCookieName } from '../session.js';

export const queuesBasePath = '/queues';

/**
 * What the board may change: retry, clean and promote (a queue's jobs or one job), pause and
 * resume. Not allowed: adding jobs, editing a job's data, delay or priority, emptying or
 * obliterating a queue, changing its concurrency or rate limit, or touching the daily scan's
 * scheduler — the daemon owns those, and a click must not lose a day's scan.
 */
const allowedChanges = [
  /^\/api\/queues\/(pause|resume)$/,
  /^\/api\/queues\/:queueName\/(retry|clean)\/:queueStatus$/,
  /^\/api\/queues\/:queueName\/(promote|pause|resume)$/,
  /^\/api\/queues\/:queueName\/:jobId\/(retry|clean|promote)$/,
];

/**
 * bull-board at /queues, for job-level inspection (payload, attempts, stack trace, logs; retry,
 * retry all, clean). Registered inside the authenticated scope, so it takes the same bearer token
 * or console session cookie; its PUT/POST/DELETE need the operator role like every other action.
 * Payloads and return values pass through the log redaction: a job may quote a secret.
 */
export async function registerQueueBoard(app: FastifyInstance, context: AdminContext, tokenCheck: onRequestHookHandler): Promise<void> {
  const adapters = [context.queues.actions, context.queues.scans].map((queue) => {
    const adapter = new BullMQAdapter(queue, { allowRetries: true, description: queue.name === 'scans' ? 'daily, startup and operator scans' : 'lifecycle actions, notice and event deliveries' });
    adapter.setFormatter('data', (data: unknown) => redactValue(data));
    adapter.setFormatter('returnValue', (value: unknown) => redactValue(value));
    return adapter;
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(queuesBasePath);
  createBullBoard({
    queues: adapters,
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Lifecycle jobs', hideDocsLink: true, miscLinks: [{ text: 'Console', url: '/' }] } },
  });
  await app.register(async (board) => {
    // bull-board's own routes are no part of the documented API.
    board.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    // A browser without a session goes to the console's sign-in, which comes back here.
    board.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization || request.cookies?.[findSessionCookieName(request)]) return;
      if (request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) {
        await reply.redirect(`/?next=${encodeURIComponent(queuesBasePath)}`);
      }
    });
    board.addHook('onRequest', tokenCheck);
    board.addHook('onRequest', async (request, reply) => {
      if (request.method === 'GET' || request.method === 'HEAD' || reply.sent) return;
      const route = (request.routeOptions.url ?? '').slice(queuesBasePath.length);
      if (allowedChanges.some((pattern) => pattern.test(route))) return;
      await reply.code(403).send({ error: `${request.method} ${queuesBasePath}${route} is not offered here: the job board retries, cleans, promotes, pauses and resumes; the daemon owns the rest` });
    });
    // A viewer's board offers no button it may not press: its list of queues says read-only
    // (the board's own flags), and the server refuses such a change anyway (above).
    board.addHook('onSend', async (request, _reply, payload) => {
      if (request.actor?.role !== 'viewer' || typeof payload !== 'string' || request.routeOptions.url !== `${queuesBasePath}/api/queues`) return payload;
      const body = JSON.parse(payload) as { queues?: Record<string, unknown>[] };
      for (const queue of body.queues ?? []) Object.assign(queue, { readOnlyMode: true, allowRetries: false, allowCompletedRetries: false });
      return JSON.stringify(body);
    });
    // The board's page links Google Fonts: nothing leaves the daemon's network (its own fonts fall back).
    board.addHook('onSend', async (_request, reply, payload) => {
      if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
      return payload.replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, '');
    });
    await board.register(serverAdapter.registerPlugin() as never, { prefix: queuesBasePath });
  });
}
