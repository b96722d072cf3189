import { sql } from 'drizzle-orm';
import { findNextDueOn } from '../policy/due.js';
import type { Subscription } from '../policy/types.js';
import type { Executor } from './executor.js';

export type Actor = 'scan' | 'job' | 'operator' | 'import';

export interface AuditEntry {
  at: Date;
  effectiveOn: string | null;
  subscriptionId: string | null;
  partnerId: string | null;
  event: string;
  actor: Actor;
  actorRef: string | null;
  detail?: unknown;
}

export async function recordAudit(ex: Executor, entry: AuditEntry): Promise<void> {
  await ex.run(sql`
    INSERT INTO audit_events (at, effective_on, subscription_id, partner_id, event, actor, actor_ref, detail)
    VALUES (${entry.at.toISOString()}, ${entry.effectiveOn}, ${entry.subscriptionId}, ${entry.partnerId}, ${entry.event},
      ${entry.actor}, ${entry.actorRef}, ${entry.detail === undefined ? null : JSON.stringify(entry.detail)})`);
}

/** Writes a subscription's lifecycle state; `next_due_on` is always derived here, never set by hand. */
export async function saveLifecycleState(ex: Executor, subscription: Subscription, at: Date, cancelTicket?: string): Promise<void> {
  await ex.run(sql`
    UPDATE subscriptions SET anniversary_on = ${subscription.anniversaryOn}, status = ${subscription.status},
      done_mask = ${subscription.doneMask}, next_due_on = ${findNextDueOn(subscription)}, cancelled_on = ${subscription.cancelledOn},
      cancel_ticket = COALESCE(${cancelTicket ?? null}, cancel_ticket), lapsed_on = ${subscription.lapsedOn},
      pending_invoice = ${subscription.pendingInvoice}, updated_at = ${at.toISOString()}
    WHERE id = ${subscription.id}`);
}
