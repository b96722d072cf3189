import type { FastifyInstance } from 'fastify';
import { InputError, RefusedError } from '../../errors.js';
import { maxRedelivery, redeliverEvents } from '../../jobs/queues.js';
import { readEventPage } from '../../store/event-feed.js';
import type { EventRow } from '../../store/events.js';
import type { AdminContext } from '../context.js';
import { buildLimitSchema } from '../schemas.js';

interface FeedQuery {
  after?: string;
  limit: number;
  status?: EventRow['status'];
}

/** One event as the feed serves it: the webhook's body, plus its id (the cursor) and delivery. */
function describeEvent(row: EventRow) {
  return {
    id: String(row.id),
    eventId: row.event_id,
    type: row.type,
    timestamp: row.occurred_at,
    // Text on SQLite; a PostgreSQL json column arrives parsed.
    data: typeof row.data === 'string' ? (JSON.parse(row.data) as unknown) : (row.data as unknown),
    delivery: { status: row.status, attempts: row.attempts, lastError: row.last_error, deliveredAt: row.delivered_at },
  };
}

export function registerEventRoutes(app: FastifyInstance, context: AdminContext): void {
  app.get<{ Querystring: FeedQuery }>(
    '/api/events',
    {
      schema: {
        summary: 'The lifecycle events in order (SPEC feed): pass `next` back as `after` to read on',
        tags: ['events'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'the cursor: `next` of the previous page; from the first event when absent' },
            limit: buildLimitSchema(1000, 100),
            status: { type: 'string', enum: ['pending', 'delivered', 'failed'], description: 'only the events whose webhook delivery is in this state' },
          },
        },
      },
    },
    async (request) => {
      const { after, limit, status } = request.query;
      const events = (await readEventPage(context.store, Number(after ?? 0), limit, status)).map(describeEvent);
      // `next` is the last id served, so a poll with it returns only newer events (or none).
      return { events, next: events.length > 0 ? events[events.length - 1]!.id : (after ?? '0') };
    },
  );

  app.post<{ Body: { from: number; to?: number } }>(
    '/api/events/redeliver',
    {
      schema: {
        summary: 'Deliver the events from `from` to `to` (feed ids, `to` = `from` by default) to EVENTS_WEBHOOK_URL again, with the same webhook-id',
        tags: ['events', 'operator'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['from'],
          properties: { from: { type: 'integer', minimum: 1 }, to: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request) => {
      const from = request.body.from;
      const to = request.body.to ?? from;
      if (to < from) throw new InputError(`body/to: ${to} is before from ${from}`);
      if (to - from >= maxRedelivery) throw new InputError(`body: ${to - from + 1} events; at most ${maxRedelivery} per call`);
      if (!context.config.eventsWebhookUrl) throw new RefusedError('events', 'EVENTS_WEBHOOK_URL is unset: events are served by the feed only');
      const eventIds = await redeliverEvents(context.queues.actions, context.config, context.store, from, to);
      request.log.info({ from, to, count: eventIds.length }, 'events queued for redelivery through the admin API');
      return { from, to, queued: eventIds.length };
    },
  );
}
