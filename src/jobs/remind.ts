import { markDone } from '../policy/transitions.js';
import { saveLifecycleState } from '../store/effects.js';
import { findInvoice } from '../store/invoices.js';
import { claimLedgerKey, findLedgerOutcome } from '../store/ledger.js';
import { lockSubscription } from '../store/queries.js';
import type { JobDeps } from './deps.js';
import { deliverNotice } from './deliver.js';
import { buildNoticeMessageId, findNoticeClock, putNoticeInOutbox } from './notices.js';
import type { ActionJobData } from './payloads.js';
import { recheckOrRecordPassed } from './recheck.js';

/** R2 and R4: the reminder is written to the outbox with its ledger entry, then delivered. */
export async function processReminder(
  deps: JobDeps,
  action: 'remind-before' | 'remind-after',
  data: ActionJobData,
  jobId: string | undefined,
): Promise<string> {
  const outcome = await deps.store.transaction(async (tx): Promise<string> => {
    // Locked first (PostgreSQL): a second run of this job waits here, then finds the ledger entry.
    const locked = await lockSubscription(tx, data.subscription);
    const done = await findLedgerOutcome(tx, data.subscription, action, data.anniversary);
    if (done !== null) return done;
    const check = await recheckOrRecordPassed(deps, tx, locked, action, data, jobId);
    if (!check.ok) return check.outcome;
    const { subscription, partner } = check;
    const at = deps.now();
    // R7: a renewal waiting for payment (bank transfer, manual gateway) is reminded of its invoice, not told to renew.
    const pending = action === 'remind-after' && subscription.pendingInvoice ? await findInvoice(tx, subscription.pendingInvoice) : null;
    const { isDeliverable } = await putNoticeInOutbox(tx, deps.config, action, subscription, partner, at, {
      ...findNoticeClock(deps),
      gatewayName: deps.gateway.name,
      ...(pending?.status === 'pending' ? { invoice: pending } : {}),
    });
    const result = isDeliverable ? 'sending' : 'undeliverable';
    await claimLedgerKey(tx, {
      subscriptionId: subscription.id,
      action,
      anniversary: subscription.anniversaryOn,
      outcome: result,
      effectiveOn: deps.today(),
      detail: isDeliverable ? null : `partner ${partner.id} has no contact with a role that may renew (R10)`,
      jobId: jobId ?? null,
      at,
    });
    await saveLifecycleState(tx, markDone(subscription, action), at);
    return result;
  });
  if (outcome !== 'sending') return outcome;
  await deliverNotice(deps, buildNoticeMessageId(action, data.subscription, data.anniversary, deps.config.mailDomain));
  return 'sent';
}
