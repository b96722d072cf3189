import type { FastifyInstance } from 'fastify';
import { InputError, NotFoundError } from '../errors.js';
import type { ScanResult } from '../jobs/payloads.js';
import { createNoticeRenderer, type NoticeRenderer } from '../mail/render.js';
import { findStatusOn } from '../policy/cycle.js';
import { addDays } from '../policy/dates.js';
import { findDueActions } from '../policy/due.js';
import { lifecycleActions, offers } from '../policy/types.js';
import { readNoticeContent } from '../store/notice-content.js';
import { toSubscription } from '../store/rows.js';
import { readSubscriptionPage, type SubscriptionListCursor, type SubscriptionListFilter } from '../store/subscription-list.js';
import type { AdminContext } from './context.js';
import { buildForecast, forecastDays, type Forecast } from './forecast.js';
import { buildLimitSchema, buildOneLineSchema, daySchema, oneLinePattern } from './schemas.js';

interface ListQuery {
  q?: string;
  partner?: string;
  status?: 'active' | 'lapsed' | 'cancelled';
  offer?: 'action_pack' | 'competency';
  anniversaryFrom?: string;
  anniversaryTo?: string;
  dueWithin?: number;
  after?: string;
  limit: number;
}

export const maxDueWithin = 400;

/** In id order the cursor is the last id (as before); in due order it also holds the last due day. */
function encodeCursor(cursor: SubscriptionListCursor): string {
  return cursor.nextDueOn === undefined ? cursor.id : `${Buffer.from(JSON.stringify([cursor.nextDueOn, cursor.id])).toString('base64url')}`;
}

function decodeCursor(value: string, byDue: boolean): SubscriptionListCursor {
  if (!byDue) return { id: value };
  try {
    const [nextDueOn, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    const isOneLine = (text: unknown): text is string => typeof text === 'string' && new RegExp(oneLinePattern).test(text);
    if (isOneLine(nextDueOn) && isOneLine(id)) return { nextDueOn, id };
  } catch {
    // reported below
  }
  throw new InputError(`querystring/after: "${value.slice(0, 40)}" is not a cursor this list returned with dueWithin (pass the previous answer's "next")`);
}

const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });

const subscriptionItemSchema = {
  type: 'object',
  required: ['id', 'partner', 'offer', 'anniversary', 'status', 'statusToday', 'autoRenew', 'nextDueOn', 'nextActions'],
  properties: {
    id: { type: 'string' },
    partner: { type: 'string' },
    offer: { type: 'string', enum: [...offers] },
    competency: nullable('object', { properties: { area: { type: 'string' }, level: { type: 'string' } } }),
    anniversary: { type: 'string', format: 'date' },
    status: { type: 'string', enum: ['active', 'lapsed', 'cancelled'], description: 'the stored status' },
    statusToday: { type: 'string', description: 'the status as of today (a lapse not yet recorded shows here)' },
    autoRenew: { type: 'boolean' },
    paymentMethod: nullable('string', { enum: ['credit_card', 'bank_transfer', null] }),
    nextDueOn: nullable('string', { format: 'date', description: 'the next day something is pending' }),
    nextActions: { type: 'array', items: { type: 'string', enum: [...lifecycleActions] }, description: 'what is pending on nextDueOn' },
    pendingInvoice: nullable('string'),
  },
} as const;

export const subscriptionListSchema = {
  type: 'object',
  required: ['subscriptions', 'next'],
  properties: {
    subscriptions: { type: 'array', items: subscriptionItemSchema },
    next: nullable('string', { description: 'pass as `after` for the next page; null on the last one' }),
  },
} as const;

const forecastSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date' },
    to: { type: 'string', format: 'date' },
    note: { type: 'string' },
    days: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          date: { type: 'string', format: 'date' },
          actions: { type: 'object', properties: Object.fromEntries(lifecycleActions.map((a) => [a, { type: 'integer' }])) },
          revenueMinor: { type: 'object', additionalProperties: { type: 'integer' }, description: 'auto-renew charges by currency, in minor units' },
        },
      },
    },
    weeks: {
      type: 'array',
      items: { type: 'object', properties: { from: { type: 'string', format: 'date' }, renewals: { type: 'integer' }, lapses: { type: 'integer' } } },
    },
    subscriptions: { type: 'integer', description: 'subscriptions read to build it' },
    computedAt: { type: 'string', format: 'date-time' },
  },
} as const;

/**
 * A forecast is kept this long: it reads every subscription due within 90 days (a third of the
 * table), the plan moves a day at a time, and an open console polls. `computedAt` says its age.
 */
const forecastTtlMs = 5 * 60_000;

/**
 * What the console needs beyond the original API: the paged, filtered subscription list, a
 * notice rendered as its email, and the 90-day forecast. Registered in the authenticated scope.
 */
export function registerConsoleApi(app: FastifyInstance, context: AdminContext): void {
  app.get<{ Querystring: ListQuery }>(
    '/api/subscriptions',
    {
      schema: {
        summary: 'Subscriptions, filtered and paged: in id order, or in next-due order with dueWithin; pass `next` back as `after`',
        description: 'A page costs what it returns at any table size: keyset pages through the primary key, the status index or the due index. No total is counted.',
        tags: ['subscriptions'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: buildOneLineSchema(200, 'the start of a subscription id'),
            partner: buildOneLineSchema(200, 'a partner id'),
            status: { type: 'string', enum: ['active', 'lapsed', 'cancelled'], description: 'the stored status' },
            offer: { type: 'string', enum: [...offers] },
            anniversaryFrom: daySchema,
            anniversaryTo: daySchema,
            dueWithin: { type: 'integer', minimum: 0, maximum: maxDueWithin, description: 'only those with something pending within this many days of today (0: due today or overdue); ordered by that day' },
            after: buildOneLineSchema(1_000, 'the `next` of the previous page'),
            limit: buildLimitSchema(500, 100),
          },
        },
        response: { 200: subscriptionListSchema },
      },
    },
    async (request) => {
      const query = request.query;
      const today = context.deps.today();
      const byDue = query.dueWithin !== undefined;
      const filter: SubscriptionListFilter = {
        ...(query.q !== undefined ? { idPrefix: query.q } : {}),
        ...(query.partner !== undefined ? { partner: query.partner } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.offer !== undefined ? { offer: query.offer } : {}),
        ...(query.anniversaryFrom !== undefined ? { anniversaryFrom: query.anniversaryFrom } : {}),
        ...(query.anniversaryTo !== undefined ? { anniversaryTo: query.anniversaryTo } : {}),
        ...(byDue ? { dueBy: addDays(today, query.dueWithin!) } : {}),
      };
      const rows = await readSubscriptionPage(context.store, filter, query.after ? decodeCursor(query.after, byDue) : null, query.limit);
      const page = rows.slice(0, query.limit);
      const subscriptions = page.map((row) => {
        const subscription = toSubscription(row);
        return {
          id: subscription.id,
          partner: subscription.partnerId,
          offer: subscription.offer,
          competency: subscription.competency,
          anniversary: subscription.anniversaryOn,
          status: subscription.status,
          statusToday: findStatusOn(subscription, today),
          autoRenew: subscription.isAutoRenew,
          paymentMethod: subscription.payment?.method ?? null,
          nextDueOn: row.next_due_on,
          nextActions: row.next_due_on ? findDueActions(subscription, row.next_due_on) : [],
          pendingInvoice: subscription.pendingInvoice,
        };
      });
      const last = page[page.length - 1];
      const next = rows.length > query.limit && last ? encodeCursor(byDue ? { id: last.id, nextDueOn: last.next_due_on ?? '' } : { id: last.id }) : null;
      return { subscriptions, next };
    },
  );

  app.get<{ Querystring: { limit: number } }>(
    '/api/scans/results',
    {
      schema: {
        summary: 'What recent scans that ran through the queue returned, newest first: what each found due, enqueued, missed and redelivered',
        description: 'From the scans queue (completed scan jobs are kept 30 days); a scan run by `lifecycle scan` outside the daemon is in GET /api/scans only.',
        tags: ['scans'],
        querystring: { type: 'object', additionalProperties: false, properties: { limit: buildLimitSchema(200, 20) } },
        response: {
          200: {
            type: 'object',
            properties: {
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    scanId: nullable('integer'),
                    asOf: { type: 'string', format: 'date' },
                    due: { type: 'integer' },
                    enqueued: { type: 'integer' },
                    missed: { type: 'integer' },
                    redelivered: { type: 'integer', description: 'pending notices handed to the workers again' },
                    skipped: { type: 'string' },
                    finishedAt: nullable('string', { format: 'date-time' }),
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const jobs = await context.queues.scans.getCompleted(0, request.query.limit - 1);
      const results = jobs
        .filter((job) => job.returnvalue && typeof job.returnvalue === 'object')
        .map((job) => ({ ...(job.returnvalue as ScanResult), finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null }));
      return { results };
    },
  );

  let renderer: Promise<NoticeRenderer> | null = null;
  app.get<{ Params: { messageId: string } }>(
    '/api/notices/:messageId/email',
    {
      schema: {
        summary: 'A notice rendered as the HTML email it was (or will be) sent as, from the content fixed when its action took effect',
        description: 'Served with a `sandbox` content security policy: no script runs, nothing is fetched; the console shows it in a sandboxed frame.',
        tags: ['notices'],
        params: { type: 'object', required: ['messageId'], properties: { messageId: buildOneLineSchema(512) } },
        response: { 200: { type: 'string', description: 'text/html' } },
      },
    },
    async (request, reply) => {
      const notice = await readNoticeContent(context.store, request.params.messageId);
      if (!notice) throw new NotFoundError(`no notice "${request.params.messageId.slice(0, 80)}"`);
      renderer ??= createNoticeRenderer().catch((error: unknown) => {
        renderer = null;
        throw error;
      });
      const rendered = (await renderer).render(notice.data);
      return reply
        .headers({
          'content-security-policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-store',
        })
        .type('text/html; charset=utf-8')
        .send(rendered.html);
    },
  );

  const forecasts = new Map<string, { atMs: number; forecast: Promise<Forecast> }>();
  const refreshing = new Set<string>();
  app.get<{ Querystring: { from?: string } }>(
    '/api/forecast',
    {
      schema: {
        summary: `The next ${forecastDays} days of the plan summed up: actions per day by kind, renewals and lapses per week, expected auto-renew revenue`,
        description: 'Built from the plan GET /api/plan serves (the same policy on the same rows). It reads every subscription due within the 90 days (seconds at 1,000,000), so it is kept: requests share one computation, and after 5 minutes the kept one is served while the next is built. `computedAt` says when it was built.',
        tags: ['plan'],
        querystring: { type: 'object', additionalProperties: false, properties: { from: { ...daySchema, description: 'first day; today by default' } } },
        response: { 200: forecastSchema },
      },
    },
    async (request) => {
      const from = request.query.from ?? context.deps.today();
      const nowMs = Date.now();
      const build = () => {
        const entry = { atMs: nowMs, forecast: buildForecast(context.store, from, forecastDays, context.deps.now()) };
        entry.forecast.catch(() => {
          if (forecasts.get(from) === entry) forecasts.delete(from);
        });
        return entry;
      };
      for (const [key, kept] of forecasts) if (key !== from && nowMs - kept.atMs > forecastTtlMs) forecasts.delete(key);
      const kept = forecasts.get(from);
      if (!kept) {
        const entry = build();
        forecasts.set(from, entry);
        return entry.forecast;
      }
      // Stale: answer with what is kept (its computedAt says so) and build the next one meanwhile.
      if (nowMs - kept.atMs > forecastTtlMs && !refreshing.has(from)) {
        refreshing.add(from);
        const entry = build();
        entry.forecast.then(
          () => forecasts.set(from, entry),
          () => undefined,
        ).finally(() => refreshing.delete(from));
      }
      return kept.forecast;
    },
  );
}
