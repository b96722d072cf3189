import type { FastifyInstance, FastifyRequest } from 'fastify';
import { enqueueDelivery, flushWrittenEvents } from '../../jobs/queues.js';
import type { RenewalSource } from '../../jobs/observer.js';
import {
  cancelSubscription,
  reactivateSubscription,
  renewSubscription,
  type OperatorDeps,
  type OperatorResult,
} from '../../operator/actions.js';
import type { AdminContext } from '../context.js';
import { describeSubscription } from '../describe.js';
import { asOfBodySchema, daySchema, subscriptionParamsSchema, ticketSchema, type AsOfBody } from '../schemas.js';

/** The audit trail names the token that acted: `token:NAME`, or `ADMIN_TOKEN`. */
export function buildOperatorDeps(context: AdminContext, request: FastifyRequest): OperatorDeps {
  return { store: context.store, config: context.config, gateway: context.deps.gateway, now: context.deps.now, operator: request.actor?.ref ?? 'admin-api' };
}

/** Operator results as the CLI reports them, the `renewed` notice handed to the workers at once. */
export async function finishOperatorAction(context: AdminContext, request: FastifyRequest, result: OperatorResult, source: RenewalSource) {
  if (result.outcome === 'renewed' || result.outcome === 'reactivated') context.metrics.recordRenewal(source, result.outcome);
  request.log.info({ subscription: result.subscription, outcome: result.outcome, invoice: result.invoice }, 'operator action through the admin API');
  // Its events go out now; should Redis fail, the next scan queues them.
  await flushWrittenEvents(context.queues.actions, context.config, context.store).catch(() => undefined);
  if (!result.messageId) return result;
  try {
    await enqueueDelivery(context.queues.actions, [result.messageId]);
    return { ...result, delivery: 'the notice is queued for delivery' };
  } catch (error) {
    return { ...result, delivery: `the notice waits in the outbox: ${(error as Error).message}; the next scan sends it` };
  }
}

export function registerSubscriptionRoutes(app: FastifyInstance, context: AdminContext): void {
  // GET /api/subscriptions (the paged list) is in src/ops/console-api.ts.
  app.get<{ Params: { id: string }; Querystring: AsOfBody }>(
    '/api/subscriptions/:id',
    {
      schema: {
        summary: 'One subscription: status, cycle dates, exceptions, every action, notice, invoice and audit event (like `lifecycle show`)',
        tags: ['subscriptions'],
        params: subscriptionParamsSchema,
        querystring: { type: 'object', additionalProperties: false, properties: { asOf: daySchema } },
      },
    },
    async (request) => await describeSubscription(context.store, request.params.id, request.query.asOf ?? context.deps.today()),
  );

  app.post<{ Params: { id: string }; Body: AsOfBody }>(
    '/api/subscriptions/:id/renew',
    { schema: { summary: 'Renew inside the window on the partner\'s behalf (R6, R9)', tags: ['operator'], params: subscriptionParamsSchema, body: asOfBodySchema } },
    async (request) => {
      const result = await renewSubscription(buildOperatorDeps(context, request), request.params.id, request.body?.asOf ?? context.deps.today());
      return finishOperatorAction(context, request, result, 'operator');
    },
  );

  app.post<{ Params: { id: string }; Body: AsOfBody & { ticket: string } }>(
    '/api/subscriptions/:id/cancel',
    {
      schema: {
        summary: 'Cancel from a support request (R11): benefits end at the anniversary, or that day when cancelled inside the renewal window',
        tags: ['operator'],
        params: subscriptionParamsSchema,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ticket'],
          properties: { ...asOfBodySchema.properties, ticket: ticketSchema },
        },
      },
    },
    async (request) => {
      const result = await cancelSubscription(buildOperatorDeps(context, request), request.params.id, request.body.ticket, request.body.asOf ?? context.deps.today());
      return finishOperatorAction(context, request, result, 'operator');
    },
  );

  app.post<{ Params: { id: string }; Body: AsOfBody }>(
    '/api/subscriptions/:id/reactivate',
    { schema: { summary: 'Reactivate a lapsed subscription where an exception allows it (R14)', tags: ['operator'], params: subscriptionParamsSchema, body: asOfBodySchema } },
    async (request) => {
      const result = await reactivateSubscription(buildOperatorDeps(context, request), request.params.id, request.body?.asOf ?? context.deps.today());
      return finishOperatorAction(context, request, result, 'operator');
    },
  );
}
