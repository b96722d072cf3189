import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import { PermanentError } from '../errors.js';
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
          return { status: 'failed', reason: 'declined', message: `unknown test token "${request.payment.token}"` };
      }
    },
  };
}

export function signWebhookBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * POSTs the charge as JSON, signed with HMAC-SHA256 of the body (`X-Lifecycle-Signature:
 * sha256=<hex>`), the invoice number as `Idempotency-Key`. The endpoint answers
 * `{"status":"paid"|"pending"|"failed","reference"?,"reason"?}`. 5xx and network errors are
 * retried; another 4xx is permanent.
 */
export function createWebhookGateway(url: string, secret: string, timeoutMs = 10_000): PaymentGateway {
  return {
    name: 'webhook',
    async charge(request) {
      const body = JSON.stringify(request);
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': request.invoice,
          'x-lifecycle-signature': `sha256=${signWebhookBody(body, secret)}`,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status >= 500 || response.status === 429) {
        throw new Error(`payment webhook ${url} answered ${response.status}; will retry`);
      }
      if (!response.ok) throw new PermanentError(`payment webhook ${url} refused invoice ${request.invoice}: HTTP ${response.status}`);
      const answer = (await response.json()) as { status?: string; reference?: string; reason?: string; message?: string };
      if (answer.status === 'paid') return { status: 'paid', reference: answer.reference ?? request.invoice };
      if (answer.status === 'pending') return { status: 'pending', reference: answer.reference ?? null };
      if (answer.status === 'failed') {
        const reason: ChargeFailure = answer.reason === 'expired-card' ? 'expired-card' : answer.reason === 'declined' ? 'declined' : 'gateway-error';
        return { status: 'failed', reason, message: answer.message ?? answer.reason ?? 'the charge failed' };
      }
      throw new PermanentError(`payment webhook ${url} answered an unknown status ${JSON.stringify(answer.status)}`);
    },
  };
}

export function createGateway(config: Pick<Config, 'paymentGateway' | 'paymentWebhookUrl' | 'paymentWebhookSecret'>): PaymentGateway {
  switch (config.paymentGateway) {
    case 'test':
      return createTestGateway();
    case 'webhook':
      return createWebhookGateway(config.paymentWebhookUrl!, config.paymentWebhookSecret!);
    default:
      return createManualGateway();
  }
}
