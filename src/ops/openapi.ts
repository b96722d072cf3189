import type { RouteOptions } from 'fastify';

/** Every error the API answers: `{error, rule?, problems?}` (src/ops/http.ts `sendError`). */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', description: 'what went wrong, in words' },
    rule: { type: 'string', description: 'the policy rule that refused the action (409), e.g. R9' },
    problems: { type: 'array', items: { type: 'string' }, description: 'each problem of a refused input (400)' },
  },
} as const;

const described = (description: string) => ({ description, ...errorSchema });

/**
 * Adds the error answers a route of the authenticated scope can give to its OpenAPI schema, so a
 * generated client knows them: 400 bad input, 401 no or wrong token, 403 the viewer role or a
 * missing CSRF header, 404 an unknown id (routes with a path parameter), 409 refused by a rule
 * (mutating routes), 429 too many failed authentications.
 */
export function addErrorResponses(route: RouteOptions): void {
  addSuccessResponse(route);
  const schema = (route.schema ??= {}) as { hide?: boolean; response?: Record<string, unknown> };
  if (schema.hide) return;
  const methods = [route.method].flat();
  const response: Record<string, unknown> = { ...schema.response };
  const add = (code: string, description: string) => {
    response[code] ??= described(description);
  };
  add('400', 'bad input: the reason, and where');
  add('401', 'no token, a wrong or revoked one, or an expired session');
  add('403', 'the token has the viewer role, or a request with the session cookie lacks its CSRF header');
  if (route.url.includes(':')) add('404', 'no such id');
  if (methods.some((method) => method !== 'GET' && method !== 'HEAD')) add('409', 'refused by a rule (`rule` names it) or by the state of the job');
  add('429', 'too many failed authentications from this address: retry after `retry-after` seconds');
  schema.response = response;
}

// Success answers of the routes written before the console, documented here so their files stay
// as they are. Every object allows more properties than it lists (`additionalProperties: true`):
// a response schema also drives serialization, and must never drop a field the route returns.
const open = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: true, properties, ...(required.length ? { required } : {}) });
const text = { type: 'string' } as const;
const day = { type: 'string', format: 'date' } as const;
const orNull = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });
const count = { type: 'integer' } as const;
const list = (items: unknown) => ({ type: 'array', items });

const operatorResult = open(
  {
    subscription: text,
    outcome: { type: 'string', enum: ['renewed', 'reactivated', 'pending-payment', 'cancelled'] },
    anniversary: day,
    newAnniversary: day,
    invoice: text,
    benefitsEndOn: day,
    messageId: text,
    message: text,
    delivery: { type: 'string', description: 'whether the notice was queued, or waits in the outbox' },
  },
  ['subscription', 'outcome', 'message'],
);

const scanResult = open({
  jobId: text, scanId: orNull(count), asOf: day, due: count, enqueued: count, missed: count, redelivered: count, skipped: text,
  dryRun: { type: 'boolean' }, count, truncated: { type: 'boolean' }, actions: list(open({ subscription: text, action: text, anniversary: day })),
});

export const documentedResponses: Record<string, Record<string, unknown>> = {
  'GET /api/scans': open({ scans: list(open({ id: count, asOf: day, trigger: text, status: text, startedAt: text, finishedAt: orNull(text), due: count, enqueued: count, missed: count, error: orNull(text) })) }, ['scans']),
  'POST /api/scans': { description: 'the scan\'s result; with dryRun, what is due', ...scanResult },
  'GET /api/subscriptions/:id': open(
    {
      id: text, asOf: day, partner: open({ id: text, name: orNull(text), locale: text }), offer: text, competency: orNull(open({ area: text, level: text })),
      purchasedOn: day, status: text, summary: text, anniversary: day, remindBeforeOn: orNull(day), windowOpens: orNull(day), remindAfterOn: orNull(day),
      windowCloses: orNull(day), lapsesOn: orNull(day), benefitsEndOn: orNull(day), autoRenew: { type: 'boolean' }, requirementsMet: { type: 'boolean' },
      paymentMethod: orNull(text), cancelledOn: orNull(day), cancelTicket: orNull(text), lapsedOn: orNull(day), pendingInvoice: orNull(text), payBy: orNull(day),
      dueOnAsOf: list(text), nextDueOn: orNull(day), exceptions: list(open({ id: text, isEligible: { type: 'boolean' } })),
      actions: list(open({ action: text, anniversary: day, outcome: text, effectiveOn: day, detail: orNull(text), recordedAt: text })),
      notices: list(open({ kind: text, anniversary: day, messageId: text, recipients: list(text), status: text, attempts: count, sentAt: orNull(text) })),
      audit: list(open({ at: text, effectiveOn: orNull(day), event: text, actor: text, actorRef: orNull(text), detail: {} })),
      invoices: list(open({ number: text, anniversary: day, purpose: text, amountMinor: count, currency: text, method: text, status: text, renewsTo: day, issuedOn: day, paidOn: orNull(day), failureReason: orNull(text) })),
    },
    ['id', 'status', 'summary', 'anniversary', 'actions', 'notices', 'audit', 'invoices'],
  ),
  'POST /api/subscriptions/:id/renew': operatorResult,
  'POST /api/subscriptions/:id/cancel': operatorResult,
  'POST /api/subscriptions/:id/reactivate': operatorResult,
  'POST /api/invoices/:number/confirm': operatorResult,
  'GET /api/invoices/:number': {
    description: 'the invoice as JSON; with ?format=text, a text/plain attachment',
    ...open({ number: text, status: text, purpose: text, subscription: text, offer: text, offerName: text, cycle: day, renewsTo: day, amountMinor: count, amount: text, currency: text, method: text, issuedOn: day, paidOn: orNull(day), failureReason: orNull(text), gatewayRef: orNull(text), partner: {} }),
  },
  'GET /api/plan': open(
    { from: day, to: day, note: text, total: count, days: list(open({ date: day, count, actions: list(open({ subscription: text, action: text, anniversary: day })) })), next: orNull(text) },
    ['from', 'to', 'total', 'days', 'next'],
  ),
  'GET /api/jobs/failed': open({ jobs: list(open({ queue: text, id: text, name: text, attempts: count, reason: text, failedAt: orNull(text), data: {} })) }, ['jobs']),
  'POST /api/jobs/:id/retry': open({ retried: text, queue: text }),
  'GET /api/queues': open({ actions: open({}), scans: open({}) }),
  'GET /api/notices/undeliverable': open({ notices: list(open({ subscription: text, partner: orNull(text), kind: text, anniversary: day, messageId: text, at: text })) }, ['notices']),
  'GET /api/events': open({ events: list(open({ id: text, eventId: text, type: text, timestamp: text, data: {}, delivery: open({ status: text, attempts: count, lastError: orNull(text), deliveredAt: orNull(text) }) })), next: text }),
  'POST /api/events/redeliver': open({ from: count, to: count, queued: count }),
  'PUT /api/partners/:id': open({ id: text, outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] } }),
  'PUT /api/subscriptions/:id': open({ id: text, outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] } }),
  'POST /api/imports': open({ format: text, partners: {}, subscriptions: {} }),
  'GET /metrics': { type: 'string', description: 'the Prometheus text exposition format' },
};

/** Adds a documented 200 answer to a route that has none. */
export function addSuccessResponse(route: RouteOptions): void {
  const schema = (route.schema ??= {}) as { hide?: boolean; response?: Record<string, unknown> };
  if (schema.hide) return;
  for (const method of [route.method].flat()) {
    const documented = documentedResponses[`${method} ${route.url}`];
    if (documented && !schema.response?.['200']) schema.response = { ...schema.response, 200: documented };
  }
}
