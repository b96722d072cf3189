import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import { PermanentError } from '../errors.js';
import { OutboundHttpError, postJson } from '../http/post-json.js';
import { describeEndpoint } from '../redact.js';
import type { Payment } from '../policy/types.js';

export interface ChargeRequest {
  /** The invoice number, also the idempotency key: charging it twice charges once. */
  invoice: string;
  subscription: string;
  partner: string;
  amountMinor: number;
  currency: string;
  payment: Payment;
}

export type ChargeFailure = 'declined' | 'expired-card' | 'gateway-error';

export type ChargeResult =
  | { status: 'paid'; reference: string }
  | { status: 'pending'; reference: string | null }
  | { status: 'failed'; reason: ChargeFailure; message: string };

/** SPEC §4: the payment port. Throwing means "try again later"; a `failed` result is final. */
export interface PaymentGateway {
  readonly name: string;
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

/** Every charge is a pending invoice that an operator confirms (`lifecycle payments confirm`). */
export function createManualGateway(): PaymentGateway {
  return { name: 'manual', charge: async () => ({ status: 'pending', reference: null }) };
}

/** Deterministic card tokens for the demo and tests; bank transfers stay pending until confirmed. */
export function createTestGateway(): PaymentGateway {
  return {
    name: 'test',
    async charge(request) {
      if (request.payment.method === 'bank_transfer') return { status: 'pending', reference: null };
      switch (request.payment.token) {
        case 'tok_visa':
          return { status: 'paid', reference: `test_${request.invoice}` };
        case 'tok_chargeDeclined':
          return { status: 'failed', reason: 'declined', message: 'the card was declined' };
        case 'tok_expiredCard':
          return { status: 'failed', reason: 'expired-card', message: 'the card has expired' };
        default:
          return { status: 'failed', reason: 'declined', message: 'not a test card token (tok_visa, tok_chargeDeclined, tok_expiredCard)' }; // the token itself is never shown
      }
    },
  };
}

export function signWebhookBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Bounds of the webhook exchange (HTTP_CONNECT_TIMEOUT_MS, HTTP_TIMEOUT_MS). */
export interface WebhookLimits {
  connectTimeoutMs: number;
  timeoutMs: number;
  maxResponseBytes?: number;
}

const defaultLimits: WebhookLimits = { connectTimeoutMs: 5_000, timeoutMs: 15_000 };

/**
 * POSTs the charge as JSON, signed with HMAC-SHA256 of the body (`X-Lifecycle-Signature:
 * sha256=<hex>`), the invoice number as `Idempotency-Key`. The endpoint answers
 * `{"status":"paid"|"pending"|"failed","reference"?,"reason"?}`. 5xx, 429, network errors and
 * timeouts are retried (the idempotency key makes a retry safe); a redirect (never followed: the
 * signed body carries the card token), an answer over the size bound or another 4xx is permanent.
 */
export function createWebhookGateway(url: string, secret: string, limits: WebhookLimits = defaultLimits): PaymentGateway {
  const where = describeEndpoint(url);
  return {
    name: 'webhook',
    async charge(request) {
      const body = JSON.stringify(request);
      let response;
      try {
        response = await postJson(url, body, {
          ...limits,
          headers: {
            'idempotency-key': request.invoice,
            'x-lifecycle-signature': `sha256=${signWebhookBody(body, secret)}`,
          },
        });
      } catch (error) {
        if (error instanceof OutboundHttpError && (error.failure === 'redirect' || error.failure === 'too-large')) {
          throw new PermanentError(`payment webhook refused invoice ${request.invoice}: ${error.message}`);
        }
        throw new Error(`payment webhook failed for invoice ${request.invoice}, will retry: ${(error as Error).message}`);
      }
      if (response.status >= 500 || response.status === 429) {
        throw new Error(`payment webhook ${where} answered ${response.status}; will retry`);
      }
      if (response.status < 200 || response.status >= 300) {
        throw new PermanentError(`payment webhook ${where} refused invoice ${request.invoice}: HTTP ${response.status}`);
      }
      const answer = parseAnswer(response.text);
      if (answer === null) throw new Error(`payment webhook ${where} answered ${response.status} with a body that is not a JSON object; will retry`);
      if (answer.status === 'paid') return { status: 'paid', reference: answer.reference ?? request.invoice };
      if (answer.status === 'pending') return { status: 'pending', reference: answer.reference ?? null };
      if (answer.status === 'failed') {
        const reason: ChargeFailure = answer.reason === 'expired-card' ? 'expired-card' : answer.reason === 'declined' ? 'declined' : 'gateway-error';
        return { status: 'failed', reason, message: answer.message ?? answer.reason ?? 'the charge failed' };
      }
      throw new PermanentError(`payment webhook ${where} answered an unknown status ${JSON.stringify(answer.status)}`);
    },
  };
}

interface WebhookAnswer {
  status?: string;
  reference?: string;
  reason?: string;
  message?: string;
}

function parseAnswer(text: string): WebhookAnswer | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as WebhookAnswer) : null;
  } catch {
    return null;
  }
}

export function createGateway(
  config: Pick<Config, 'paymentGateway' | 'paymentWebhookUrl' | 'paymentWebhookSecret' | 'httpConnectTimeoutMs' | 'httpTimeoutMs'>,
): PaymentGateway {
  switch (config.paymentGateway) {
    case 'test':
      return createTestGateway();
    case 'webhook':
      return createWebhookGateway(config.paymentWebhookUrl!, config.paymentWebhookSecret!, {
        connectTimeoutMs: config.httpConnectTimeoutMs,
        timeoutMs: config.httpTimeoutMs,
      });
    default:
      return createManualGateway();
  }
}
