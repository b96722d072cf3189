import { settleChargeAfterChange } from '../billing/charge-after-change.js';
import type { PaymentGateway } from '../billing/gateway.js';
import { findFee } from '../billing/prices.js';
import type { Config } from '../config.js';
import { InputError, NotFoundError, RefusedError } from '../errors.js';
import { putNoticeInOutbox } from '../jobs/notices.js';
import { checkPaymentConfirmation, findChangeWhileCharging, voidReasons, type InvoiceFacts } from '../policy/payment.js';
import { checkCancellation, checkManualRenewal, checkReactivationRequest, validateBillTo } from '../policy/renewal.js';
import { applyCancellation, applyReactivation, applyRenewal, awaitPayment } from '../policy/transitions.js';
import type { Partner, Subscription } from '../policy/types.js';
import { todayIn } from '../policy/dates.js';
import { recordAudit, saveLifecycleState } from '../store/effects.js';
import { recordEvent } from '../store/events.js';
import type { Executor, Store } from '../store/executor.js';
import { createInvoice, findInvoice, settleInvoice, settleInvoiceVoidedByLapse, settlePendingInvoice, type InvoiceRow } from '../store/invoices.js';
import { claimLedgerKey } from '../store/ledger.js';
import { findPartner, findSubscription, lockSubscription } from '../store/queries.js';

export interface OperatorDeps {
  store: Store;
  config: Pick<Config, 'renewUrl' | 'supportUrl' | 'mailDomain' | 'timeZone'>;
  gateway: PaymentGateway;
  now(): Date;
  /** Who acts, for the audit trail. */
  operator: string;
}

export interface OperatorResult {
  subscription: string;
  outcome: 'renewed' | 'reactivated' | 'pending-payment' | 'cancelled';
  anniversary: string;
  newAnniversary?: string;
  invoice?: string;
  /** R11, a cancellation: the last day of benefits (the same date `show` and later refusals give). */
  benefitsEndOn?: string;
  /** A notice waiting in the outbox for the daemon to deliver. */
  messageId?: string;
  message: string;
}

/**
 * An operator acts as of today or a past day. A day that has not come would charge today inside a
 * window that opens later (R6), move the end of benefits past A (R11), or date a payment that
 * cannot have arrived: the future is for `scan --dry-run` and `simulate`.
 */
function refuseFutureDay(deps: OperatorDeps, asOf: string): void {
  const today = todayIn(deps.config.timeZone, deps.now());
  if (asOf > today) throw new InputError(`${asOf} is after today (${today}): an operator acts as of today or a past day`);
}

/** The subscription and its partner; inside a transaction (`isLocked`) its row is held until the commit (PostgreSQL `FOR UPDATE`). */
async function load(ex: Executor, id: string, isLocked: boolean): Promise<{ subscription: Subscription; partner: Partner }> {
  const subscription = isLocked ? await lockSubscription(ex, id) : await findSubscription(ex, id);
  if (!subscription) throw new NotFoundError(`no subscription "${id}" (ids are those given at import)`);
  const partner = await findPartner(ex, subscription.partnerId);
  if (!partner) throw new InputError(`subscription ${id}: its partner "${subscription.partnerId}" is missing`);
  return { subscription, partner };
}

/** Records a paid renewal or reactivation: the new cycle starts, the `renewed` notice goes to the outbox. */
async function recordPaidRenewal(
  deps: OperatorDeps,
  tx: Executor,
  subscription: Subscription,
  partner: Partner,
  invoice: InvoiceRow,
  asOf: string,
  undoesLapseOf?: string,
): Promise<string> {
  const at = deps.now();
  const key = invoice.purpose === 'reactivation' ? 'reactivate' : 'renew';
  const isNew = await claimLedgerKey(tx, {
    subscriptionId: subscription.id,
    action: key,
    anniversary: subscription.anniversaryOn,
    outcome: invoice.purpose === 'reactivation' ? 'reactivated' : 'renewed',
    effectiveOn: asOf,
    detail: `invoice ${invoice.number}, new anniversary ${invoice.renews_to}`,
    jobId: null,
    at,
  });
  if (!isNew) throw new RefusedError('R6', `cycle ${subscription.anniversaryOn} of ${subscription.id} was renewed already`);
  const { messageId } = await putNoticeInOutbox(tx, deps.config, 'renewed', subscription, partner, at, {
    newAnniversary: invoice.renews_to,
    invoice: { ...invoice, status: 'paid' },
  });
  const renewed = key === 'reactivate' ? applyReactivation(subscription, invoice.renews_to) : applyRenewal(subscription, invoice.renews_to);
  await saveLifecycleState(tx, renewed, at);
  const eventBase = { at, subscription: subscription.id, partner: partner.id, anniversary: subscription.anniversaryOn, invoice: await findInvoice(tx, invoice.number) };
  await recordEvent(tx, {
    ...eventBase,
    type: key === 'reactivate' ? 'subscription.reactivated' : 'subscription.renewed',
    detail: { action: key, newAnniversary: invoice.renews_to, ...(undoesLapseOf ? { undoesLapseOf } : {}) },
  });
  await recordEvent(tx, { ...eventBase, type: 'invoice.paid', detail: { action: key } });
  await recordAudit(tx, {
    at,
    effectiveOn: asOf,
    subscriptionId: subscription.id,
    partnerId: partner.id,
    event: key === 'reactivate' ? 'reactivated' : 'renewed',
    actor: 'operator',
    actorRef: deps.operator,
    detail: { invoice: invoice.number, from: subscription.anniversaryOn, to: invoice.renews_to, ...(undoesLapseOf ? { undoesLapseOf } : {}) },
  });
  return messageId;
}

/** Voids a pending invoice that nothing can renew any more, with its `invoice.voided` event; a settled one is left alone. */
async function voidPendingInvoice(tx: Executor, subscription: Subscription, partner: Partner, number: string, reason: string, at: Date): Promise<void> {
  if (!(await settlePendingInvoice(tx, number, { status: 'void', failureReason: reason, at }))) return;
  await recordEvent(tx, {
    type: 'invoice.voided',
    at,
    subscription: subscription.id,
    partner: partner.id,
    anniversary: subscription.anniversaryOn,
    detail: { reason },
    invoice: await findInvoice(tx, number),
  });
}

async function chargeAndApply(
  deps: OperatorDeps,
  subscription: Subscription,
  partner: Partner,
  purpose: 'renewal' | 'reactivation',
  newAnniversary: string,
  asOf: string,
): Promise<OperatorResult> {
  const { store } = deps;
  const billTo = validateBillTo(partner.billTo);
  if (billTo.length > 0) throw new RefusedError('R13', `update your bill-to address (partner ${partner.id}): ${billTo.join('; ')}`);
  if (!subscription.payment && deps.gateway.name !== 'manual') {
    throw new RefusedError('R7', `no payment method on file for ${subscription.id}: import one (payment) first`);
  }
  const invoice = await store.transaction((tx) =>
    createInvoice(tx, {
      subscriptionId: subscription.id,
      anniversary: subscription.anniversaryOn,
      purpose,
      offer: subscription.offer,
      ...findFee(subscription),
      method: subscription.payment?.method ?? 'bank_transfer',
      renewsTo: newAnniversary,
      issuedOn: asOf,
      at: deps.now(),
    }),
  );
  const charge = subscription.payment
    ? await deps.gateway.charge({
        invoice: invoice.number,
        subscription: subscription.id,
        partner: partner.id,
        amountMinor: invoice.amount_minor,
        currency: invoice.currency,
        payment: subscription.payment,
      })
    : ({ status: 'pending', reference: null } as const);
  const result = await store.transaction(async (tx): Promise<OperatorResult | RefusedError> => {
    // Held until the commit (PostgreSQL): a job or another operator action on it waits here.
    const current = await lockSubscription(tx, subscription.id);
    const at = deps.now();
    const change = findChangeWhileCharging(subscription, current);
    if (change) {
      // Returned, not thrown: what happened to the money must be committed.
      const action = purpose === 'reactivation' ? 'reactivate' : 'renew';
      const settled = await settleChargeAfterChange(tx, { subscription, invoice, charge, change, action, today: asOf, at, audit: { actor: 'operator', actorRef: deps.operator } });
      return new RefusedError(change.reason === 'cancelled' ? 'R11' : change.reason === 'lapsed' ? 'R5' : 'R7', settled.message);
    }
    const fresh = current!; // the same cycle: its latest state, not the one read before the charge
    if (charge.status === 'failed') {
      // Returned, not thrown: the failed invoice, its audit entry and its event must be committed.
      await settleInvoice(tx, invoice.number, { status: 'failed', failureReason: charge.reason, at });
      await recordAudit(tx, { at, effectiveOn: asOf, subscriptionId: subscription.id, partnerId: partner.id, event: `${purpose}-failed`, actor: 'operator', actorRef: deps.operator, detail: { invoice: invoice.number, reason: charge.reason } });
      await recordEvent(tx, {
        type: 'subscription.renewal_failed',
        at,
        subscription: subscription.id,
        partner: partner.id,
        anniversary: subscription.anniversaryOn,
        detail: { action: purpose === 'reactivation' ? 'reactivate' : 'renew', reason: charge.reason },
        invoice: await findInvoice(tx, invoice.number),
      });
      return new RefusedError('R7', `the charge of invoice ${invoice.number} failed: ${charge.message} (${charge.reason})`);
    }
    // R5: the renewal invoice a reactivation replaces (issued before the lapse job ran) can no longer
    // be paid: voided as the lapse would have voided it, so no invoice stays pending with nothing to renew.
    if (purpose === 'reactivation' && fresh.pendingInvoice) await voidPendingInvoice(tx, fresh, partner, fresh.pendingInvoice, voidReasons.lapsed, at);
    if (charge.status === 'pending') {
      await settleInvoice(tx, invoice.number, { status: 'pending', gatewayRef: charge.reference, at });
      await saveLifecycleState(tx, awaitPayment(fresh, invoice.number), at);
      await recordEvent(tx, {
        type: 'subscription.renewal_pending',
        at,
        subscription: subscription.id,
        partner: partner.id,
        anniversary: subscription.anniversaryOn,
        detail: { action: purpose === 'reactivation' ? 'reactivate' : 'renew', newAnniversary },
        invoice: await findInvoice(tx, invoice.number),
      });
      await recordAudit(tx, { at, effectiveOn: asOf, subscriptionId: subscription.id, partnerId: partner.id, event: `${purpose}-pending-payment`, actor: 'operator', actorRef: deps.operator, detail: { invoice: invoice.number } });
      // SPEC §3: every pending invoice is announced with how to pay it and by when.
      const { messageId } = await putNoticeInOutbox(tx, deps.config, 'invoice-pending', subscription, partner, at, {
        newAnniversary,
        invoice: { ...invoice, status: 'pending' },
        writtenOn: asOf,
      });
      return {
        subscription: subscription.id,
        outcome: 'pending-payment',
        anniversary: subscription.anniversaryOn,
        newAnniversary,
        invoice: invoice.number,
        messageId,
        message: `invoice ${invoice.number} issued, pending: the ${purpose} takes effect when it is confirmed (lifecycle payments confirm ${invoice.number})`,
      };
    }
    await settleInvoice(tx, invoice.number, { status: 'paid', paidOn: asOf, gatewayRef: charge.reference, at });
    const messageId = await recordPaidRenewal(deps, tx, fresh, partner, { ...invoice, status: 'paid' }, asOf);
    return {
      subscription: subscription.id,
      outcome: purpose === 'reactivation' ? 'reactivated' : 'renewed',
      anniversary: subscription.anniversaryOn,
      newAnniversary,
      invoice: invoice.number,
      messageId,
      message: `${purpose === 'reactivation' ? 'reactivated' : 'renewed'}: new anniversary ${newAnniversary}, invoice ${invoice.number} paid`,
    };
  });
  if (result instanceof RefusedError) throw result;
  return result;
}

/** R6 (and R9): an operator renews inside the window on the partner's behalf. */
export async function renewSubscription(deps: OperatorDeps, id: string, asOf: string): Promise<OperatorResult> {
  refuseFutureDay(deps, asOf);
  const { subscription, partner } = await load(deps.store, id, false);
  const grant = checkManualRenewal(subscription, partner, asOf);
  if (!grant.ok) throw new RefusedError(grant.rule, grant.reason);
  return chargeAndApply(deps, subscription, partner, 'renewal', grant.newAnniversary, asOf);
}

/** R14: a lapsed subscription comes back by paying the fee while an exception allows it. */
export async function reactivateSubscription(deps: OperatorDeps, id: string, asOf: string): Promise<OperatorResult> {
  refuseFutureDay(deps, asOf);
  const { subscription, partner } = await load(deps.store, id, false);
  const pending = subscription.pendingInvoice ? await findInvoice(deps.store, subscription.pendingInvoice) : null;
  const grant = checkReactivationRequest(subscription, partner, asOf, pending?.purpose ?? null);
  if (!grant.ok) throw new RefusedError(grant.rule, grant.reason);
  return chargeAndApply(deps, subscription, partner, 'reactivation', grant.newAnniversary, asOf);
}

/** R11: cancelled from a support request; benefits end at A (or that day, inside the window), nothing more is sent or charged. */
export async function cancelSubscription(deps: OperatorDeps, id: string, ticket: string, asOf: string): Promise<OperatorResult> {
  refuseFutureDay(deps, asOf);
  return deps.store.transaction(async (tx): Promise<OperatorResult> => {
    const { subscription, partner } = await load(tx, id, true);
    const grant = checkCancellation(subscription, ticket, asOf);
    if (!grant.ok) throw new RefusedError(grant.rule, grant.reason);
    const at = deps.now();
    if (subscription.pendingInvoice) await settleInvoice(tx, subscription.pendingInvoice, { status: 'void', failureReason: voidReasons.cancelled, at });
    await saveLifecycleState(tx, applyCancellation(subscription, asOf), at, ticket);
    const eventBase = { at, subscription: id, partner: partner.id, anniversary: subscription.anniversaryOn };
    await recordEvent(tx, { ...eventBase, type: 'subscription.cancelled', detail: { action: 'cancel', ticket, benefitsEndOn: grant.benefitsEndOn } });
    if (subscription.pendingInvoice) {
      await recordEvent(tx, { ...eventBase, type: 'invoice.voided', detail: { reason: voidReasons.cancelled }, invoice: await findInvoice(tx, subscription.pendingInvoice) });
    }
    await recordAudit(tx, {
      at,
      effectiveOn: asOf,
      subscriptionId: id,
      partnerId: partner.id,
      event: 'cancelled',
      actor: 'operator',
      actorRef: deps.operator,
      detail: { ticket, benefitsEndOn: grant.benefitsEndOn, voidedInvoice: subscription.pendingInvoice },
    });
    return {
      subscription: id,
      outcome: 'cancelled',
      anniversary: subscription.anniversaryOn,
      benefitsEndOn: grant.benefitsEndOn,
      message: `cancelled (ticket ${ticket}): auto-renew and reminders stop; benefits end on ${grant.benefitsEndOn}`,
    };
  });
}

/** The invoice as the rules see it. */
function toInvoiceFacts(invoice: InvoiceRow): InvoiceFacts {
  return {
    number: invoice.number,
    status: invoice.status,
    purpose: invoice.purpose,
    anniversaryOn: invoice.anniversary_on,
    renewsTo: invoice.renews_to,
    issuedOn: invoice.issued_on,
    failureReason: invoice.failure_reason,
  };
}

/**
 * R7: a pending invoice (bank transfer, manual gateway) is paid: the renewal it stands for takes
 * effect, if the day of the payment still allows it (R5, R14).
 */
export async function confirmPayment(deps: OperatorDeps, number: string, asOf: string): Promise<OperatorResult> {
  refuseFutureDay(deps, asOf);
  return deps.store.transaction(async (tx): Promise<OperatorResult> => {
    const found = await findInvoice(tx, number);
    if (!found) throw new NotFoundError(`no invoice "${number}"`);
    // The subscription's row first (held on PostgreSQL), then the invoice as it is now.
    const { subscription, partner } = await load(tx, found.subscription_id, true);
    const invoice = (await findInvoice(tx, number))!;
    const grant = checkPaymentConfirmation(subscription, partner, toInvoiceFacts(invoice), asOf);
    if (!grant.ok) throw new RefusedError(grant.rule, grant.reason);
    const at = deps.now();
    // Paid once: of two confirmations racing, the second finds it settled (the UPDATE's condition decides).
    const isSettled = grant.undoesLapseOf
      ? await settleInvoiceVoidedByLapse(tx, number, { paidOn: asOf, at })
      : await settlePendingInvoice(tx, number, { status: 'paid', paidOn: asOf, at });
    if (!isSettled) throw new RefusedError('R7', `invoice ${number} is no longer ${grant.undoesLapseOf ? 'void' : 'pending'}`);
    if (grant.voidsInvoice) await voidPendingInvoice(tx, subscription, partner, grant.voidsInvoice, voidReasons.renewalPaidInTime, at);
    const messageId = await recordPaidRenewal(deps, tx, subscription, partner, { ...invoice, status: 'paid' }, asOf, grant.undoesLapseOf);
    const undone = grant.undoesLapseOf ? ` (paid in time: the lapse of ${grant.undoesLapseOf} is undone)` : '';
    return {
      subscription: subscription.id,
      outcome: grant.outcome,
      anniversary: subscription.anniversaryOn,
      newAnniversary: grant.newAnniversary,
      invoice: number,
      messageId,
      message: `invoice ${number} paid on ${asOf}: ${subscription.id} ${grant.outcome} to ${grant.newAnniversary}${undone}`,
    };
  });
}
