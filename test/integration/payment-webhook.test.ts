import { createHmac } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
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

/** A raw endpoint for the hostile answers: every request is counted, and the handler writes what it likes. */
async function startRawEndpoint(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const received: string[] = [];
  const open = new Set<http.ServerResponse>();
  const raw = http.createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push(body);
      handle(req, res);
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const { port } = raw.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/charges`,
    received,
    close: async () => {
      for (const res of open) res.destroy();
      raw.closeAllConnections();
      await new Promise((resolve) => raw.close(resolve));
    },
  };
}

describe('webhook payment gateway: hostile answers (SPEC §9)', () => {
  const limits = { connectTimeoutMs: 1_000, timeoutMs: 1_500 };
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('follows no redirect: a 307 fails the charge for good and the Location host receives nothing', async () => {
    const elsewhere = await startRawEndpoint((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"paid"}'));
    closers.push(elsewhere.close);
    const redirecting = await startRawEndpoint((_req, res) => res.writeHead(307, { location: elsewhere.url }).end());
    closers.push(redirecting.close);
    const error = (await createWebhookGateway(redirecting.url, secret, limits).charge(request).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/answered 307 \(a redirect\): redirects are not followed/);
    expect(redirecting.received).toHaveLength(1);
    expect(elsewhere.received).toEqual([]);
  });

  it('cuts an endless answer off at 64 KiB and fails the charge for good', async () => {
    const endless = await startRawEndpoint((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    closers.push(endless.close);
    const startedAt = Date.now();
    const error = (await createWebhookGateway(endless.url, secret, limits).charge(request).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/answer longer than 65536 bytes, cut off/);
    expect(Date.now() - startedAt).toBeLessThan(limits.timeoutMs);
  });

  it('gives up on an answer that never ends within HTTP_TIMEOUT_MS, as a retryable failure', async () => {
    const slow = await startRawEndpoint((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":'); // and nothing more, ever
    });
    closers.push(slow.close);
    const startedAt = Date.now();
    const error = (await createWebhookGateway(slow.url, secret, limits).charge(request).catch((e: unknown) => e)) as Error;
    const elapsed = Date.now() - startedAt;
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/no complete answer within 1500 ms \(HTTP_TIMEOUT_MS\)/);
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('gives up on a connection that never completes (a TLS handshake never answered) within HTTP_CONNECT_TIMEOUT_MS', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket)); // accepts, never speaks TLS
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const { port } = silent.address() as AddressInfo;
    const startedAt = Date.now();
    const error = (await createWebhookGateway(`https://127.0.0.1:${port}/charges`, secret, { connectTimeoutMs: 300, timeoutMs: 5_000 })
      .charge(request)
      .catch((e: unknown) => e)) as Error;
    expect(error).not.toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/no connection within 300 ms \(HTTP_CONNECT_TIMEOUT_MS\)/);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('never puts credentials of the URL in a failure reason', async () => {
    const down = await startRawEndpoint((_req, res) => res.writeHead(503).end());
    closers.push(down.close);
    const withCredentials = down.url.replace('http://', 'http://user:hunter2-SECRET@');
    const error = (await createWebhookGateway(withCredentials, secret, limits).charge(request).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/answered 503/);
    expect(error.message).not.toContain('hunter2-SECRET');
  });

  it('never puts the query string of the URL (where a key may ride) in a failure reason', async () => {
    const down = await startRawEndpoint((_req, res) => res.writeHead(503).end());
    closers.push(down.close);
    const error = (await createWebhookGateway(`${down.url}?api_key=key-SECRET-42#frag`, secret, limits).charge(request).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(`payment webhook ${down.url} answered 503; will retry`);
    const refused = await startRawEndpoint((_req, res) => res.writeHead(404).end());
    closers.push(refused.close);
    const permanent = (await createWebhookGateway(`${refused.url}?api_key=key-SECRET-42`, secret, limits).charge(request).catch((e: unknown) => e)) as Error;
    expect(permanent).toBeInstanceOf(PermanentError);
    expect(permanent.message).not.toContain('SECRET');
  });
});
