import type { FastifyInstance } from 'fastify';
import { confirmPayment } from '../../operator/actions.js';
import type { AdminContext } from '../context.js';
import { formatInvoiceText, readInvoiceDocument } from '../invoice-document.js';
import { asOfBodySchema, buildOneLineSchema, type AsOfBody } from '../schemas.js';
import { buildOperatorDeps, finishOperatorAction } from './subscriptions.js';

const numberParamsSchema = {
  type: 'object',
  required: ['number'],
  properties: { number: buildOneLineSchema(100, 'e.g. INV-2019-000003') },
} as const;

export function registerInvoiceRoutes(app: FastifyInstance, context: AdminContext): void {
  app.get<{ Params: { number: string }; Querystring: { format: 'json' | 'text' } }>(
    '/api/invoices/:number',
    {
      schema: {
        summary: 'Download an invoice (R12): JSON, or a plain-text attachment with ?format=text',
        tags: ['invoices'],
        params: numberParamsSchema,
        querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['json', 'text'], default: 'json' } } },
      },
    },
    async (request, reply) => {
      const invoice = await readInvoiceDocument(context.store, request.params.number);
      if (request.query.format === 'json') return invoice;
      // The number is ours (INV-YYYY-NNNNNN), but keep the header safe whatever it becomes.
      const fileName = `${invoice.number.replace(/[^A-Za-z0-9._-]/g, '_')}.txt`;
      return reply
        .type('text/plain; charset=utf-8')
        .header('content-disposition', `attachment; filename="${fileName}"`)
        .send(formatInvoiceText(invoice));
    },
  );

  app.post<{ Params: { number: string }; Body: AsOfBody }>(
    '/api/invoices/:number/confirm',
    {
      schema: {
        summary: 'Confirm a pending invoice is paid (bank transfer, manual gateway): its renewal takes effect',
        tags: ['invoices', 'operator'],
        params: numberParamsSchema,
        body: { ...asOfBodySchema, properties: { asOf: { ...asOfBodySchema.properties.asOf, description: 'the day the payment arrived; today by default' } } },
      },
    },
    async (request) => {
      const result = await confirmPayment(buildOperatorDeps(context, request), request.params.number, request.body?.asOf ?? context.deps.today());
      return finishOperatorAction(context, request, result, 'payment-confirmed');
    },
  );
}
