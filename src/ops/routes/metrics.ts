import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.js';

export function registerMetricsRoute(app: FastifyInstance, context: AdminContext): void {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['metrics'] } }, async (_request, reply) => {
    const { registry } = context.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
