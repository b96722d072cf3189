import type { Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.js';
import type { AdminContext } from '../context.js';
import { queueStates } from '../metrics.js';
import { redact, redactValue } from '../../redact.js';
import { buildLimitSchema, idParamsSchema } from '../schemas.js';

function describeFailedJob(job: Job) {
  return {
    queue: job.queueName,
    id: job.id,
    name: job.name,
    attempts: job.attemptsMade,
    // Jobs that failed before redaction existed (or outside a worker) may still quote a secret.
    reason: redact(job.failedReason ?? ''),
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    data: redactValue(job.data as unknown),
  };
}

export function registerJobRoutes(app: FastifyInstance, context: AdminContext): void {
  const { actions, scans } = context.queues;

  app.get<{ Querystring: { limit: number } }>(
    '/api/jobs/failed',
    {
      schema: {
        summary: 'Jobs that failed for good, newest first (like `lifecycle status`)',
        tags: ['jobs'],
        querystring: { type: 'object', additionalProperties: false, properties: { limit: buildLimitSchema(500, 50) } },
      },
    },
    async (request) => {
      const limit = request.query.limit;
      const [failedActions, failedScans] = await Promise.all([actions.getFailed(0, limit - 1), scans.getFailed(0, limit - 1)]);
      const jobs = [...failedActions, ...failedScans]
        .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))
        .slice(0, limit)
        .map(describeFailedJob);
      return { jobs };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/jobs/:id/retry',
    {
      schema: {
        summary: 'Retry a job that failed for good (like `lifecycle retry`); the ledger still keeps each effect once',
        tags: ['jobs'],
        params: idParamsSchema,
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const job = (await actions.getJob(id)) ?? (await scans.getJob(id));
      if (!job) throw new NotFoundError(`no job "${id}"`);
      if (!(await job.isFailed())) return reply.code(409).send({ error: `job ${id} is not failed (it is ${await job.getState()})` });
      await job.retry('failed');
      request.log.info({ queue: job.queueName, jobId: id }, 'failed job retried through the admin API');
      return { retried: id, queue: job.queueName };
    },
  );

  app.get('/api/queues', { schema: { summary: 'Jobs in each queue by state', tags: ['jobs'] } }, async () => {
    const [actionCounts, scanCounts] = await Promise.all([actions.getJobCounts(...queueStates), scans.getJobCounts(...queueStates)]);
    return { actions: actionCounts, scans: scanCounts };
  });
}
