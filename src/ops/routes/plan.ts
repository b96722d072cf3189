import type { FastifyInstance } from 'fastify';
import { addDays } from '../../policy/dates.js';
import type { AdminContext } from '../context.js';
import { defaultPlanLimit, maxPlanDays, maxPlanLimit, planActions } from '../plan.js';
import { buildLimitSchema, checkRange, daySchema } from '../schemas.js';

export function registerPlanRoutes(app: FastifyInstance, context: AdminContext): void {
  app.get<{ Querystring: { from?: string; to?: string; limit?: number; after?: string } }>(
    '/api/plan',
    {
      schema: {
        summary: `What will happen on which day (at most ${maxPlanDays} days): the policy run forward on the current state, without effects`,
        description:
          'Renewals are not predicted: an auto-renew is listed on its day, and the reminder after and the lapse that follow it are listed as if it did not renew. Actions whose range ended before `from` are left out (a scan records them as skipped:missed). Paged: subscriptions in the order of their next due day, at least `limit` actions a page (all of a subscription\'s actions in one page); pass `next` as `after` for the next page.',
        tags: ['plan'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { ...daySchema, description: 'first day; today by default' },
            to: { ...daySchema, description: 'last day, inclusive; from + 30 days by default' },
            limit: buildLimitSchema(maxPlanLimit, defaultPlanLimit),
            after: { type: 'string', maxLength: 1_000, description: 'the previous page\'s `next`' },
          },
        },
      },
    },
    async (request) => {
      const from = request.query.from ?? context.deps.today();
      const to = request.query.to ?? addDays(from, 30);
      checkRange(from, to, maxPlanDays);
      return planActions(context.store, from, to, {
        limit: request.query.limit ?? defaultPlanLimit,
        ...(request.query.after ? { after: request.query.after } : {}),
      });
    },
  );
}
