import { actionBits } from '../policy/due.js';
import { findAction, recordAction, saveLifecycleState } from '../store/effects.js';
import type { JobDeps } from './deps.js';
import { deliverNotice } from './deliver.js';
import { findMessageId, findNoticeClock, putNoticeInOutbox } from './notices.js';
import type { ActionJobData } from './payloads.js';
import { recheckAction } from './recheck.js';

/** R2 and R4: the reminder is written to the outbox with its ledger entry, then delivered. */
export async function processReminder(
  deps: JobDeps,
  action: 'remind-before' | 'remind-after',
  data: ActionJobData,
  jobId: string | undefined,
): Promise<string> {
  const { store } = deps;
  const outcome = store.sqlite.transaction((): string => {
    const done = findAction(store, data.subscription, action, data.anniversary);
    if (done) return done.outcome;
    const check = recheckAction(deps, action, data, jobId);
    if (!check.ok) return check.outcome;
    const { subscription, partner } = check;
    const at = deps.now();
    const { isDeliverable } = putNoticeInOutbox(store, deps.config, action, subscription, partner, at, {
      ...findNoticeClock(deps),
      gatewayName: deps.gateway.name,
    });
    const result = isDeliverable ? 'sending' : 'undeliverable';
    recordAction(store, {
      subscriptionId: subscription.id,
      action,
      anniversary: subscription.anniversaryOn,
      outcome: result,
      effectiveOn: deps.today(),
      detail: isDeliverable ? null : `partner ${partner.id} has no contact with a role that may renew (R10)`,
      jobId: jobId ?? null,
      at,
    });
    saveLifecycleState(store, { ...subscription, doneMask: subscription.doneMask | actionBits[action] }, at);
    return result;
  }).immediate();
  if (outcome !== 'sending') return outcome;
  await deliverNotice(deps, findMessageId(action, data.subscription, data.anniversary, deps.config.mailDomain));
  return 'sent';
}
