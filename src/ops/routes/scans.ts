import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { QueueEvents } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { ScanResult } from '../../jobs/payloads.js';
import { scanQueueName } from '../../jobs/queues.js';
import { explainFutureScan } from '../../jobs/scan.js';
import { findDue } from '../../scan/find-due.js';
import { listRecentScanRuns } from '../../store/reports.js';
import type { AdminContext } from '../context.js';
import { buildLimitSchema, daySchema } from '../schemas.js';
import { redact, redactValue } from '../../redact.js';

/** A dry run listing more actions than this lists that many and gives the full count. */
const maxListed = 10_000;
/** Subscriptions read between two yields to the event loop: jobs and health checks go on during a big day's count. */
const chunkSubscriptions = 500;

interface ScanBody {
  asOf?: string;
  dryRun?: boolean;
}

async function listDue(context: AdminContext, asOf: string) {
  const actions: { subscription: string; action: string; anniversary: string }[] = [];
  let count = 0;
  let read = 0;
  for await (const { subscription, due } of findDue(context.store, asOf)) {
    if (++read % chunkSubscriptions === 0) await yieldToEventLoop();
    for (const action of due) {
      count += 1;
      if (actions.length < maxListed) actions.push({ subscription: subscription.id, action, anniversary: subscription.anniversaryOn });
    }
  }
  return { asOf, dryRun: true, count, truncated: count > actions.length, actions };
}

export function registerScanRoutes(app: FastifyInstance, context: AdminContext): void {
  let events: Promise<QueueEvents> | undefined;
  // One listener for every request, opened on first use: a scan request waits for its job's end.
  const openEvents = () =>
    (events ??= (async () => {
      const queueEvents = new QueueEvents(scanQueueName, {
        connection: { ...context.connection, maxRetriesPerRequest: null },
        prefix: context.queues.scans.opts.prefix,
      });
      queueEvents.on('error', (error: Error) => context.log.warn({ queue: scanQueueName, err: error }, 'scan events connection error'));
      await queueEvents.waitUntilReady();
      return queueEvents;
    })());
  app.addHook('onClose', async () => {
    if (events) await (await events).close();
  });

  app.post<{ Body: ScanBody }>(
    '/api/scans',
    {
      schema: {
        summary: 'Scan now (like `lifecycle scan`), or list what is due (dryRun)',
        tags: ['scans'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            asOf: { ...daySchema, description: 'scan as of this day; today in LIFECYCLE_TZ by default' },
            dryRun: { type: 'boolean', description: 'only list what is due: no jobs, no effects' },
          },
        },
      },
    },
    async (request, reply) => {
      const asOf = request.body?.asOf ?? context.deps.today();
      if (request.body?.dryRun) return listDue(context, asOf);
      const refusal = explainFutureScan(asOf, context.deps.today());
      if (refusal) return reply.code(400).send({ error: `body/asOf: ${refusal}` });
      const queueEvents = await openEvents();
      const job = await context.queues.scans.add('scan', { trigger: 'operator', asOf }, { jobId: `operator-${asOf}-${Date.now()}` });
      request.log.info({ queue: scanQueueName, jobId: job.id, asOf }, 'scan requested through the admin API');
      try {
        const result = (await job.waitUntilFinished(queueEvents, context.scanWaitMs ?? 60_000)) as ScanResult;
        return { jobId: job.id, ...result };
      } catch (error) {
        const state = await job.getState();
        if (state === 'failed') return reply.code(500).send({ error: `scan ${job.id} failed: ${redact((error as Error).message)}`, jobId: job.id });
        // Still queued or running (no worker free, or a long scan): it goes on without this request.
        return reply.code(202).send({ jobId: job.id, state, message: 'the scan is still queued or running; GET /api/scans shows it when done' });
      }
    },
  );

  app.get<{ Querystring: { limit: number } }>(
    '/api/scans',
    {
      schema: {
        summary: 'Recent scan runs, newest first',
        tags: ['scans'],
        querystring: { type: 'object', additionalProperties: false, properties: { limit: buildLimitSchema(200, 20) } },
      },
    },
    async (request) => {
      return { scans: redactValue(await listRecentScanRuns(context.store, request.query.limit)) };
    },
  );
}
