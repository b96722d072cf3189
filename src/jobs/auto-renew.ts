import { settleChargeAfterChange } from '../billing/charge-after-change.js';
import { findFee } from '../billing/prices.js';
import { findCycleDates } from '../policy/cycle.js';
import { failedOutcome, skippedOutcome, type RenewalFailureReason } from '../policy/outcomes.js';
import { findChangeWhileCharging } from '../policy/payment.js';
import { applyRenewal, awaitPayment, markDone } from '../policy/transitions.js';
import { checkAutoRenewal } from '../policy/renewal.js';
import type { Partner, Subscription } from '../policy/types.js';
import { recordAudit, saveLifecycleState } from '../store/effects.js';
import { recordEvent } from '../store/events.js';
import type { Executor } from '../store/executor.js';
import { createInvoice, findAutoRenewInvoice, findInvoice, settleInvoice, type InvoiceRow } from '../store/invoices.js';
import { claimLedgerKey, findLedgerOutcome } from '../store/ledger.js';
import { findAutoRenewNoticeId } from '../store/notices.js';
import { lockSubscription } from '../store/queries.js';
import type { JobDeps } from './deps.js';
import { deliverNotice } from './deliver.js';
import { findNoticeClock, putNoticeInOutbox } from './notices.js';
import type { ActionJobData } from './payloads.js';
import { recheckOrRecordPassed } from './recheck.js';

type Prepared =
  | { kind: 'done'; outcome: string; messageId: string | null }
  | { kind: 'charge'; subscription: Subscription; partner: Partner; invoice: InvoiceRow };

/**
 * R7 on A: check (R13), then charge with the invoice number as idempotency key. The invoice is
 * written before the charge, so a retry after a crash charges the same invoice again (the
 * gateway deduplicates) and never a second one.
 */
export async function processAutoRenew(deps: JobDeps, data: ActionJobData, jobId: string | undefined): Promise<string> {
  const { store } = deps;
  const action = 'auto-renew';
  const prepared = await store.transaction(async (tx): Promise<Prepared> => {
    // Locked first (PostgreSQL): an operator's renewal or a second run of this job waits here.
    const locked = await lockSubscription(tx, data.subscription);
    const done = await findLedgerOutcome(tx, data.subscription, action, data.anniversary);
    if (done !== null) return { kind: 'done', outcome: done, messageId: await findAutoRenewNoticeId(tx, data.subscription, data.anniversary) };
    const check = await recheckOrRecordPassed(deps, tx, locked, action, data, jobId);
    if (!check.ok) return { kind: 'done', outcome: check.outcome, messageId: null };
    const { subscription, partner } = check;
    const at = deps.now();
    const eligibility = checkAutoRenewal(subscription, partner);
    if (!eligibility.ok) {
      const result = await finishFailure(deps, tx, subscription, partner, eligibility.failure, eligibility.reason, null, jobId);
      return { kind: 'done', ...result };
    }
    const invoice =
      (await findAutoRenewInvoice(tx, subscription.id, subscription.anniversaryOn)) ??
      (await createInvoice(tx, {
        subscriptionId: subscription.id,
        anniversary: subscription.anniversaryOn,
        purpose: 'auto-renew',
        offer: subscription.offer,
        ...findFee(subscription),
        method: subscription.payment!.method,
        renewsTo: eligibility.newAnniversary,
        issuedOn: deps.today(),
        at,
      }));
    return { kind: 'charge', subscription, partner, invoice };
  });

  if (prepared.kind === 'done') {
    if (prepared.messageId) await deliverNotice(deps, prepared.messageId);
    return prepared.outcome;
  }
  const { subscription, partner, invoice } = prepared;
  const charge = await deps.gateway.charge({
    invoice: invoice.number,
    subscription: subscription.id,
    partner: partner.id,
    amountMinor: invoice.amount_minor,
    currency: invoice.currency,
    payment: subscription.payment!,
  });
  const result = await store.transaction(async (tx): Promise<{ outcome: string; messageId: string | null }> => {
    // Locked first (PostgreSQL): of two runs that both charged, the second finds the first's entry.
    const current = await lockSubscription(tx, data.subscription);
    const recorded = await findLedgerOutcome(tx, data.subscription, action, data.anniversary);
    if (recorded !== null) return { outcome: recorded, messageId: await findAutoRenewNoticeId(tx, data.subscription, data.anniversary) };
    const at = deps.now();
    const today = deps.today();
    const change = findChangeWhileCharging(subscription, current);
    if (change) {
      // Cancelled (or renewed, lapsed, deleted) while the gateway answered: no renewal, no notice.
      const settled = await settleChargeAfterChange(tx, { subscription, invoice, charge, change, action, today, at, audit: { actor: 'job', actorRef: jobId ?? null }, log: deps.log });
      const outcome = skippedOutcome(change.reason);
      if (current) {
        await claimLedgerKey(tx, { subscriptionId: subscription.id, action, anniversary: subscription.anniversaryOn, outcome, effectiveOn: today, detail: settled.message, jobId: jobId ?? null, at });
      }
      return { outcome, messageId: null };
    }
    const fresh = current!; // the same cycle: its latest state, not the one read before the charge
    if (charge.status === 'failed') {
      await settleInvoice(tx, invoice.number, { status: 'failed', failureReason: charge.reason, at });
      return finishFailure(deps, tx, fresh, partner, charge.reason, charge.message, invoice.number, jobId);
    }
    const isPaid = charge.status === 'paid';
    await settleInvoice(tx, invoice.number, { status: isPaid ? 'paid' : 'pending', paidOn: isPaid ? today : null, gatewayRef: charge.reference, at });
    const outcome = isPaid ? 'renewed' : 'pending-payment';
    await claimLedgerKey(tx, {
      subscriptionId: subscription.id,
      action,
      anniversary: subscription.anniversaryOn,
      outcome,
      effectiveOn: today,
      detail: `invoice ${invoice.number}${isPaid ? `, new anniversary ${invoice.renews_to}` : ', waiting for payment'}`,
      jobId: jobId ?? null,
      at,
    });
    const settled = { ...invoice, status: isPaid ? ('paid' as const) : ('pending' as const), paid_on: isPaid ? today : null };
    // A receipt is for a paid renewal; a pending invoice asks for the payment instead (SPEC §3).
    const { messageId } = await putNoticeInOutbox(tx, deps.config, isPaid ? 'auto-renew-receipt' : 'invoice-pending', subscription, partner, at, {
      newAnniversary: invoice.renews_to,
      invoice: settled,
      ...findNoticeClock(deps),
    });
    // Paid: the new cycle starts. Pending (bank transfer, manual gateway): R3–R5 run meanwhile.
    const next: Subscription = isPaid ? applyRenewal(fresh, invoice.renews_to) : awaitPayment(markDone(fresh, action), invoice.number);
    await saveLifecycleState(tx, next, at);
    const eventBase = { at, subscription: subscription.id, partner: partner.id, anniversary: subscription.anniversaryOn, invoice: await findInvoice(tx, invoice.number) };
    if (isPaid) {
      await recordEvent(tx, { ...eventBase, type: 'subscription.renewed', detail: { action, newAnniversary: invoice.renews_to } });
      await recordEvent(tx, { ...eventBase, type: 'invoice.paid', detail: { action } });
    } else {
      await recordEvent(tx, { ...eventBase, type: 'subscription.renewal_pending', detail: { action, newAnniversary: invoice.renews_to, payBy: findCycleDates(subscription.anniversaryOn).windowCloses } });
    }
    await recordAudit(tx, {
      at,
      effectiveOn: today,
      subscriptionId: subscription.id,
      partnerId: partner.id,
      event: isPaid ? 'auto-renewed' : 'auto-renew-pending-payment',
      actor: 'job',
      actorRef: jobId ?? null,
      detail: { invoice: invoice.number, from: subscription.anniversaryOn, to: isPaid ? invoice.renews_to : null },
    });
    return { outcome, messageId };
  });
  if (result.messageId) await deliverNotice(deps, result.messageId);
  return result.outcome;
}

/** Any failure → a failure notice, and R3–R5 apply (reminder after, lapse). */
async function finishFailure(
  deps: JobDeps,
  tx: Executor,
  subscription: Subscription,
  partner: Partner,
  reason: RenewalFailureReason,
  message: string,
  invoiceNumber: string | null,
  jobId: string | undefined,
): Promise<{ outcome: string; messageId: string }> {
  const at = deps.now();
  const outcome = failedOutcome(reason);
  await claimLedgerKey(tx, {
    subscriptionId: subscription.id,
    action: 'auto-renew',
    anniversary: subscription.anniversaryOn,
    outcome,
    effectiveOn: deps.today(),
    detail: invoiceNumber ? `invoice ${invoiceNumber}: ${message}` : message,
    jobId: jobId ?? null,
    at,
  });
  const invoice = invoiceNumber ? await findAutoRenewInvoice(tx, subscription.id, subscription.anniversaryOn) : null;
  const { messageId } = await putNoticeInOutbox(tx, deps.config, 'auto-renew-failed', subscription, partner, at, {
    failureReason: reason,
    invoice,
    ...findNoticeClock(deps),
  });
  await saveLifecycleState(tx, markDone(subscription, 'auto-renew'), at);
  await recordEvent(tx, {
    type: 'subscription.renewal_failed',
    at,
    subscription: subscription.id,
    partner: partner.id,
    anniversary: subscription.anniversaryOn,
    detail: { action: 'auto-renew', reason, lapsesOn: findCycleDates(subscription.anniversaryOn).lapsesOn },
    invoice,
  });
  return { outcome, messageId };
}
