import { findCycleDates } from '../policy/cycle.js';
import { voidReasons } from '../policy/payment.js';
import { applyLapse } from '../policy/transitions.js';
import { recordAudit, saveLifecycleState } from '../store/effects.js';
import { recordEvent } from '../store/events.js';
import { findInvoice, settleInvoice } from '../store/invoices.js';
import { claimLedgerKey, findLedgerOutcome } from '../store/ledger.js';
import { lockSubscription } from '../store/queries.js';
import type { JobDeps } from './deps.js';
import { deliverNotice } from './deliver.js';
import { buildNoticeMessageId, findNoticeClock, putNoticeInOutbox } from './notices.js';
import type { ActionJobData } from './payloads.js';
import { recheckOrRecordPassed } from './recheck.js';

/** R5: not renewed by the end of A + 30 → lapsed on A + 31; benefits and the competency are lost. */
export async function processLapse(deps: JobDeps, data: ActionJobData, jobId: string | undefined): Promise<string> {
  const outcome = await deps.store.transaction(async (tx): Promise<string> => {
    // Locked first (PostgreSQL): an operator's renewal or a second run of this job waits here.
    const locked = await lockSubscription(tx, data.subscription);
    const done = await findLedgerOutcome(tx, data.subscription, 'lapse', data.anniversary);
    if (done !== null) return done;
    const check = await recheckOrRecordPassed(deps, tx, locked, 'lapse', data, jobId);
    if (!check.ok) return check.outcome;
    const { subscription, partner } = check;
    const at = deps.now();
    const today = deps.today();
    const lapsedOn = findCycleDates(subscription.anniversaryOn).lapsesOn;
    // A bank transfer still unpaid when the window closes no longer renews anything; a reactivation
    // issued before this job ran stays payable until its exception's deadline (R14).
    const isReactivation = subscription.pendingInvoice !== null && (await findInvoice(tx, subscription.pendingInvoice))?.purpose === 'reactivation';
    const voidedInvoice = isReactivation ? null : subscription.pendingInvoice;
    if (voidedInvoice) await settleInvoice(tx, voidedInvoice, { status: 'void', failureReason: voidReasons.lapsed, at });
    const lapsed = applyLapse(subscription, lapsedOn, { keepsPendingInvoice: isReactivation });
    // Written as of today: after an exception's deadline it offers no reactivation (R14).
    await putNoticeInOutbox(tx, deps.config, 'lapsed', lapsed, partner, at, findNoticeClock(deps));
    await claimLedgerKey(tx, {
      subscriptionId: subscription.id,
      action: 'lapse',
      anniversary: subscription.anniversaryOn,
      outcome: 'lapsed',
      effectiveOn: today,
      detail: `lapsed on ${lapsedOn}`,
      jobId: jobId ?? null,
      at,
    });
    await saveLifecycleState(tx, lapsed, at);
    // A lapse is what tells a benefits system to revoke (SPEC §8).
    const eventBase = { at, subscription: subscription.id, partner: partner.id, anniversary: subscription.anniversaryOn };
    await recordEvent(tx, { ...eventBase, type: 'subscription.lapsed', detail: { action: 'lapse', lapsedOn } });
    if (voidedInvoice) await recordEvent(tx, { ...eventBase, type: 'invoice.voided', detail: { reason: voidReasons.lapsed }, invoice: await findInvoice(tx, voidedInvoice) });
    await recordAudit(tx, {
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
  });
  if (outcome === 'lapsed') await deliverNotice(deps, buildNoticeMessageId('lapsed', data.subscription, data.anniversary, deps.config.mailDomain));
  return outcome;
}
