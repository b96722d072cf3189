import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookGateway, type ChargeRequest } from '../../src/billing/gateway.js';
import { PermanentError } from '../../src/errors.js';

const secret = 'whsec_test';
const request: ChargeRequest = {
  invoice: 'INV-2019-000001',
  subscription: 'S-1',
  partner: 'P-1001',
  amountMinor: 47_500,
  currency: 'USD',
  payment: { method: 'credit_card', token: 'tok_visa' },
};

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

let server: http.Server | undefined;

async function startEndpoint(answer: (received: Received) => { status: number; json?: unknown }) {
  const received: Received[] = [];
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const entry = { body, headers: req.headers };
      received.push(entry);
      const { status, json } = answer(entry);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json ?? {}));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/charges`, received };
}

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('webhook payment gateway (SPEC §4)', () => {
  it('signs the body with HMAC-SHA256 and sends the invoice as idempotency key', async () => {
    const endpoint = await startEndpoint(() => ({ status: 200, json: { status: 'paid', reference: 'ch_1' } }));
    const result = await createWebhookGateway(endpoint.url, secret).charge(request);
    expect(result).toEqual({ status: 'paid', reference: 'ch_1' });
    const [{ body, headers }] = endpoint.received as [Received];
    expect(JSON.parse(body)).toEqual(request);
    expect(headers['idempotency-key']).toBe('INV-2019-000001');
    expect(headers['x-lifecycle-signature']).toBe(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  });

  it.each([
    [{ status: 'pending' }, { status: 'pending', reference: null }],
    [{ status: 'failed', reason: 'declined', message: 'insufficient funds' }, { status: 'failed', reason: 'declined', message: 'insufficient funds' }],
    [{ status: 'failed', reason: 'expired-card' }, { status: 'failed', reason: 'expired-card', message: 'expired-card' }],
  ])('maps the answer %j', async (json, expected) => {
    const endpoint = await startEndpoint(() => ({ status: 200, json }));
    expect(await createWebhookGateway(endpoint.url, secret).charge(request)).toEqual(expected);
  });

  it('throws a retryable error on 5xx and a permanent one on another 4xx', async () => {
    const down = await startEndpoint(() => ({ status: 503 }));
    const error = await createWebhookGateway(down.url, secret).charge(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentError);
    await new Promise((resolve) => server!.close(resolve));
    const refused = await startEndpoint(() => ({ status: 400 }));
    await expect(createWebhookGateway(refused.url, secret).charge(request)).rejects.toBeInstanceOf(PermanentError);
  });
});
