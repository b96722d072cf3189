import type { FastifyInstance } from 'fastify';
import { describeSession } from '../session.js';

/** The token a request authenticated with: the console hides what a viewer may not do. */
export function registerSessionRoute(app: FastifyInstance): void {
  app.get(
    '/api/session',
    {
      schema: {
        summary: 'The token this request used: its name and role (viewer reads, operator also acts)',
        tags: ['session'],
        response: {
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, role: { type: 'string', enum: ['viewer', 'operator'] }, ref: { type: 'string' }, csrf: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
          },
        },
      },
    },
    async (request) => describeSession(request),
  );
}
