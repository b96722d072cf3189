import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.js';
import { checkHealth, createHealthLogger, describeHealthPublicly } from '../health.js';

export function registerHealthRoute(app: FastifyInstance, context: AdminContext): void {
  const logHealth = createHealthLogger(context.log);
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Database, Redis and SMTP (or the outbox dir) answer: 200 ok, 503 degraded; no token needed, so no error text (it goes to the log)',
        tags: ['health'],
        security: [],
      },
    },
    async (_request, reply) => {
      const health = await checkHealth(context.store, context.queues, context.mailer, context.config.smtpUrl !== null);
      logHealth(health);
      return reply.code(health.status === 'ok' ? 200 : 503).send(describeHealthPublicly(health));
    },
  );
}
