import type { FastifyInstance } from 'fastify';
import { listUndeliverableNotices } from '../../store/reports.js';
import type { AdminContext } from '../context.js';
import { buildLimitSchema } from '../schemas.js';

export function registerNoticeRoutes(app: FastifyInstance, context: AdminContext): void {
  app.get<{ Querystring: { limit: number } }>(
    '/api/notices/undeliverable',
    {
      schema: {
        summary: 'Notices no one could receive (R10: the partner has no contact with a purchasing role), newest first',
        tags: ['notices'],
        querystring: { type: 'object', additionalProperties: false, properties: { limit: buildLimitSchema(500, 50) } },
      },
    },
    async (request) => {
      return { notices: await listUndeliverableNotices(context.store, request.query.limit) };
    },
  );
}
