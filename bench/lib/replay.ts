/**
 * A pure replay of a season with the policy alone: no queue, no SQLite, no SMTP. Each day, like
 * a scan and the jobs it starts, every subscription's missed actions are recorded as skipped and
 * its due actions taken in cycle order, with the test gateway's deterministic answers. What it
 * produces is what the ledger and the outbox must hold after the real run.
 */
import { buildMessageId } from '../../src/mail/headers.js';
import type { NoticeKind } from '../../src/mail/types.js';
import { addDays } from '../../src/policy/dates.js';
import { findCycleDates } from '../../src/policy/cycle.js';
import { findDueActions, findMissedActions } from '../../src/policy/due.js';
import { failedOutcome, isFailedOutcome, skippedOutcome, type ActionOutcome } from '../../src/policy/outcomes.js';
import { selectRecipients } from '../../src/policy/recipients.js';
import { checkAutoRenewal } from '../../src/policy/renewal.js';
import { applyLapse, applyRenewal, markDone } from '../../src/policy/transitions.js';
import type { LifecycleAction, Partner, Subscription } from '../../src/policy/types.js';

export interface ReplayedAction {
  subscription: string;
  action: LifecycleAction;
  anniversary: string;
  outcome: ActionOutcome;
  day: string;
}

export interface ReplayedNotice {
  messageId: string;
  kind: NoticeKind;
  subscription: string;
  isDeliverable: boolean;
}

export interface Replay {
  /** Keyed `subscription|action|anniversary`. */
  actions: Map<string, ReplayedAction>;
  notices: Map<string, ReplayedNotice>;
}

export function actionKey(subscription: string, action: string, anniversary: string): string {
  return `${subscription}|${action}|${anniversary}`;
}

/** The test gateway (src/billing/gateway.ts createTestGateway) as a pure function. */
function chargeOutcome(subscription: Subscription): Extract<ActionOutcome, 'renewed' | 'pending-payment' | 'failed:declined' | 'failed:expired-card'> {
  const payment = subscription.payment!;
  if (payment.method === 'bank_transfer') return 'pending-payment';
  if (payment.token === 'tok_visa') return 'renewed';
  if (payment.token === 'tok_expiredCard') return 'failed:expired-card';
  return 'failed:declined';
}

export function replaySeason(
  initial: readonly Subscription[],
  partners: ReadonlyMap<string, Partner>,
  from: string,
  days: number,
  mailDomain: string,
): Replay {
  const actions = new Map<string, ReplayedAction>();
  const notices = new Map<string, ReplayedNotice>();
  const state = new Map(initial.map((s) => [s.id, { ...s }]));
  const note = (kind: NoticeKind, s: Subscription, partner: Partner) => {
    const messageId = buildMessageId({ kind, subscriptionId: s.id, anniversary: s.anniversaryOn }, mailDomain);
    notices.set(messageId, { messageId, kind, subscription: s.id, isDeliverable: selectRecipients(partner.contacts).length > 0 });
  };
  for (let i = 0; i < days; i++) {
    const day = addDays(from, i);
    for (const [id, before] of state) {
      let s = before;
      const partner = partners.get(s.partnerId)!;
      const record = (action: LifecycleAction, outcome: ActionOutcome) => {
        actions.set(actionKey(id, action, s.anniversaryOn), { subscription: id, action, anniversary: s.anniversaryOn, outcome, day });
      };
      for (const action of findMissedActions(s, day)) {
        record(action, skippedOutcome('missed'));
        s = markDone(s, action);
      }
      // A job's completion enqueues the next action due the same day: all of them run, in order.
      for (let guard = 0; guard < 8; guard++) {
        const action = findDueActions(s, day)[0];
        if (!action) break;
        const done = markDone(s, action);
        if (action === 'remind-before' || action === 'remind-after') {
          record(action, selectRecipients(partner.contacts).length > 0 ? 'sent' : 'undeliverable');
          note(action, s, partner);
          s = done;
        } else if (action === 'lapse') {
          record(action, 'lapsed');
          note('lapsed', s, partner);
          s = applyLapse(s, findCycleDates(s.anniversaryOn).lapsesOn, { keepsPendingInvoice: false });
        } else {
          const eligibility = checkAutoRenewal(s, partner);
          if (!eligibility.ok) {
            record(action, failedOutcome(eligibility.failure));
            note('auto-renew-failed', s, partner);
            s = done;
            continue;
          }
          const outcome = chargeOutcome(s);
          record(action, outcome);
          // A pending charge (bank transfer) asks for the payment: invoice-pending, not a receipt.
          note(isFailedOutcome(outcome) ? 'auto-renew-failed' : outcome === 'renewed' ? 'auto-renew-receipt' : 'invoice-pending', s, partner);
          s = outcome === 'renewed' ? applyRenewal(s, eligibility.newAnniversary) : done;
        }
      }
      state.set(id, s);
    }
  }
  return { actions, notices };
}
