import { findCycleDates } from '../policy/cycle.js';
import { actionBits } from '../policy/due.js';
import { voidReasons } from '../policy/payment.js';
import { findAction, recordAction, recordAudit, saveLifecycleState } from '../store/effects.js';
import { recordEvent } from '../store/events.js';
import { findInvoice, settleInvoice } from '../store/invoices.js';
import type { JobDeps } from './deps.js';
import { deliverNotice } from './deliver.js';
import { findMessageId, findNoticeClock, putNoticeInOutbox } from './notices.js';
import type { ActionJobData } from './payloads.js';
import { recheckAction } from './recheck.js';

/** R5: not renewed by the end of A + 30 → lapsed on A + 31; benefits and the competency are lost. */
export async function processLapse(deps: JobDeps, data: ActionJobData, jobId: string | undefined): Promise<string> {
  const { store } = deps;
  const outcome = store.sqlite.transaction((): string => {
    const done = findAction(store, data.subscription, 'lapse', data.anniversary);
    if (done) return done.outcome;
    const check = recheckAction(deps, 'lapse', data, jobId);
    if (!check.ok) return check.outcome;
    const { subscription, partner } = check;
    const at = deps.now();
    const today = deps.today();
    const lapsedOn = findCycleDates(subscription.anniversaryOn).lapsesOn;
    // A bank transfer still unpaid when the window closes no longer renews anything; a reactivation
    // issued before this job ran stays payable until its exception's deadline (R14).
    const isReactivation = subscription.pendingInvoice !== null && findInvoice(store, subscription.pendingInvoice)?.purpose === 'reactivation';
    const voidedInvoice = isReactivation ? null : subscription.pendingInvoice;
    if (voidedInvoice) settleInvoice(store, voidedInvoice, { status: 'void', failureReason: voidReasons.lapsed, at });
    const lapsed = { ...subscription, status: 'lapsed' as const, lapsedOn, pendingInvoice: isReactivation ? subscription.pendingInvoice : null, doneMask: subscription.doneMask | actionBits.lapse };
    // Written as of today: after an exception's deadline it offers no reactivation (R14).
    putNoticeInOutbox(store, deps.config, 'lapsed', lapsed, partner, at, findNoticeClock(deps));
    recordAction(store, {
      subscriptionId: subscription.id,
      action: 'lapse',
      anniversary: subscription.anniversaryOn,
      outcome: 'lapsed',
      effectiveOn: today,
      detail: `lapsed on ${lapsedOn}`,
      jobId: jobId ?? null,
      at,
    });
    saveLifecycleState(store, lapsed, at);
    // A lapse is what tells a benefits system to revoke (SPEC §8).
    const eventBase = { at, subscription: subscription.id, partner: partner.id, anniversary: subscription.anniversaryOn };
    recordEvent(store, { ...eventBase, type: 'subscription.lapsed', detail: { action: 'lapse', lapsedOn } });
    if (voidedInvoice) recordEvent(store, { ...eventBase, type: 'invoice.voided', detail: { reason: voidReasons.lapsed }, invoice: findInvoice(store, voidedInvoice) });
    recordAudit(store, {
      at,
      effectiveOn: today,
      subscriptionId: subscription.id,
      partnerId: partner.id,
      event: 'lapsed',
      actor: 'job',
      actorRef: jobId ?? null,
      detail: { anniversary: subscription.anniversaryOn, lapsedOn, voidedInvoice },
    });
    return 'lapsed';
  }).immediate();
  if (outcome === 'lapsed') await deliverNotice(deps, findMessageId('lapsed', data.subscription, data.anniversary, deps.config.mailDomain));
  return outcome;
}
