import type { Logger } from '../log.js';
import { voidReasons, type ChangeWhileCharging } from '../policy/payment.js';
import type { Subscription } from '../policy/types.js';
import { recordAudit, type AuditEntry } from '../store/effects.js';
import { recordEvent } from '../store/events.js';
import type { Executor } from '../store/executor.js';
import { findInvoice, settleInvoice, settlePendingInvoice, type InvoiceRow } from '../store/invoices.js';
import type { ChargeResult } from './gateway.js';

export interface ChargeAfterChange {
  /** What the operator or the job's log is told. */
  message: string;
  /** The charge took money for a renewal that no longer applies: someone must refund it. */
  isRefundDue: boolean;
}

/**
 * Records the gateway's answer for a subscription that changed while it was charged
 * (findChangeWhileCharging): the invoice tells what happened to the money, the subscription is left
 * as the change left it. Paid: the invoice is paid and an `invoice.paid` event and an audit entry
 * say that a refund is due (the gateway took it; only the billing system can give it back).
 * Pending: the invoice is voided (an `invoice.voided` event), nothing was taken. Failed: recorded as failed.
 */
export async function settleChargeAfterChange(
  tx: Executor,
  options: {
    subscription: Subscription;
    invoice: InvoiceRow;
    charge: ChargeResult;
    change: ChangeWhileCharging;
    action: 'auto-renew' | 'renew' | 'reactivate';
    today: string;
    at: Date;
    audit: Pick<AuditEntry, 'actor' | 'actorRef'>;
    /** A job's log (an operator reads the message instead). */
    log?: Logger;
  },
): Promise<ChargeAfterChange> {
  const { subscription, invoice, charge, change, at } = options;
  // The invoice's event as it stands after the settlement above it.
  const recordInvoiceEvent = async (type: 'invoice.voided' | 'invoice.paid', detail: Record<string, unknown>): Promise<void> => {
    await recordEvent(tx, {
      type,
      at,
      subscription: subscription.id,
      partner: subscription.partnerId,
      anniversary: subscription.anniversaryOn,
      detail,
      invoice: await findInvoice(tx, invoice.number),
    });
  };
  if (charge.status === 'paid') {
    // Whatever happened meanwhile (a cancellation voids the invoice), it must show the money taken.
    await settleInvoice(tx, invoice.number, { status: 'paid', paidOn: options.today, gatewayRef: charge.reference, at });
  } else {
    const settled =
      charge.status === 'pending'
        ? { status: 'void' as const, failureReason: voidReasons.changedWhileCharging, gatewayRef: charge.reference, at }
        : { status: 'failed' as const, failureReason: charge.reason, at };
    const isVoided = (await settlePendingInvoice(tx, invoice.number, settled)) && settled.status === 'void';
    // The gateway was asked for it (a webhook gateway answered pending): a billing system must learn it is void.
    if (isVoided) await recordInvoiceEvent('invoice.voided', { reason: voidReasons.changedWhileCharging, action: options.action });
  }
  const isRefundDue = charge.status === 'paid';
  const why = `${subscription.id} changed while invoice ${invoice.number} was charged: ${change.description}`;
  const message = isRefundDue
    ? `${why}; the gateway took the payment (${charge.reference}): refund invoice ${invoice.number} in the billing system, the renewal was not applied`
    : `${why}; ${charge.status === 'pending' ? 'the invoice is voided' : `the charge failed too (${charge.reason})`}, nothing was taken`;
  await recordAudit(tx, {
    at,
    effectiveOn: options.today,
    subscriptionId: subscription.id,
    partnerId: subscription.partnerId,
    event: isRefundDue ? 'refund-due' : 'charge-dropped',
    ...options.audit,
    detail: { invoice: invoice.number, action: options.action, change: change.reason, charge: charge.status },
  });
  if (isRefundDue) {
    await recordInvoiceEvent('invoice.paid', { action: options.action, refundDue: change.description });
    options.log?.warn({ subscription: subscription.id, invoice: invoice.number, change: change.reason }, 'a charge was paid for a subscription that changed meanwhile: refund due');
  }
  return { message, isRefundDue };
}
