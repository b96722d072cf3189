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

/**
 * saveLifecycleState for a batch (a scan's missed rows; no cancel ticket): `next_due_on` derived
 * for each. PostgreSQL: one statement, the states passed as one JSON parameter. SQLite: one
 * statement each, in-process.
 */
export async function saveLifecycleStates(ex: Executor, subscriptions: readonly Subscription[], at: Date): Promise<void> {
  if (subscriptions.length === 0) return;
  if (ex.dialect === 'sqlite') {
    for (const subscription of subscriptions) await saveLifecycleState(ex, subscription, at);
    return;
  }
  const states = JSON.stringify(
    subscriptions.map((subscription) => ({
      id: subscription.id,
      anniversary_on: subscription.anniversaryOn,
      status: subscription.status,
      done_mask: subscription.doneMask,
      next_due_on: findNextDueOn(subscription),
      cancelled_on: subscription.cancelledOn,
      lapsed_on: subscription.lapsedOn,
      pending_invoice: subscription.pendingInvoice,
    })),
  );
  await ex.run(sql`
    UPDATE subscriptions AS s SET anniversary_on = v.anniversary_on, status = v.status, done_mask = v.done_mask,
      next_due_on = v.next_due_on, cancelled_on = v.cancelled_on, lapsed_on = v.lapsed_on,
      pending_invoice = v.pending_invoice, updated_at = ${at.toISOString()}
    FROM json_populate_recordset(NULL::subscriptions, CAST(${states} AS json)) AS v
    WHERE s.id = v.id`);
}
