import type { FastifyInstance } from 'fastify';
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
      const notices = context.store.sqlite
        .prepare(
          `SELECT n.subscription_id AS subscription, s.partner_id AS partner, n.kind, n.anniversary_on AS anniversary,
             n.message_id AS messageId, n.created_at AS at
           FROM notices n LEFT JOIN subscriptions s ON s.id = n.subscription_id
           WHERE n.status = 'undeliverable' ORDER BY n.id DESC LIMIT ?`,
        )
        .all(request.query.limit);
      return { notices };
    },
  );
}
