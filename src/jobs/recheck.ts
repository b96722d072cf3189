import { findMissedActions, isDone, isDueOn } from '../policy/due.js';
import type { SkippedOutcome } from '../policy/outcomes.js';
import { markDone } from '../policy/transitions.js';
import type { LifecycleAction, Partner, Subscription } from '../policy/types.js';
import { saveLifecycleState } from '../store/effects.js';
import type { Executor } from '../store/executor.js';
import { claimLedgerKey } from '../store/ledger.js';
import { findPartner } from '../store/queries.js';
import type { ActionJobData } from './payloads.js';
import type { JobDeps } from './deps.js';

export type Recheck =
  | { ok: true; subscription: Subscription; partner: Partner }
  | { ok: false; outcome: SkippedOutcome };

/**
 * A job re-checks its subscription when it runs, not only when it was enqueued: renewed,
 * cancelled, lapsed or past its range since → no effect. Runs inside the effect transaction, on
 * the subscription as `lockSubscription` read it there. An action whose range has passed is
 * recorded as `skipped:window-passed` in the ledger (and marked done) here, once.
 */
export async function recheckOrRecordPassed(
  deps: JobDeps,
  tx: Executor,
  subscription: Subscription | null,
  action: LifecycleAction,
  data: ActionJobData,
  jobId: string | undefined,
): Promise<Recheck> {
  if (!subscription) return { ok: false, outcome: 'skipped:unknown-subscription' };
  if (subscription.anniversaryOn !== data.anniversary) return { ok: false, outcome: 'skipped:renewed' };
  if (subscription.status !== 'active') return { ok: false, outcome: `skipped:${subscription.status}` };
  if (isDone(subscription, action)) return { ok: false, outcome: 'skipped:already-done' };
  const today = deps.today();
  if (!isDueOn(subscription, action, today)) {
    if (!findMissedActions(subscription, today).includes(action)) return { ok: false, outcome: 'skipped:not-yet-due' };
    // Its range is over: never send what is no longer true; record why, once.
    await claimLedgerKey(tx, {
      subscriptionId: subscription.id,
      action,
      anniversary: subscription.anniversaryOn,
      outcome: 'skipped:window-passed',
      effectiveOn: today,
      detail: `ran on ${today}, after its last day`,
      jobId: jobId ?? null,
      at: deps.now(),
    });
    await saveLifecycleState(tx, markDone(subscription, action), deps.now());
    return { ok: false, outcome: 'skipped:window-passed' };
  }
  const partner = await findPartner(tx, subscription.partnerId);
  if (!partner) return { ok: false, outcome: 'skipped:unknown-partner' };
  return { ok: true, subscription, partner };
}
