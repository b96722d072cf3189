import { findNextDueOn } from '../policy/due.js';
import type { Subscription } from '../policy/types.js';
import type { Store } from './db.js';

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

export function recordAudit(store: Store, entry: AuditEntry): void {
  store.sqlite
    .prepare(
      `INSERT INTO audit_events (at, effective_on, subscription_id, partner_id, event, actor, actor_ref, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      entry.at.toISOString(),
      entry.effectiveOn,
      entry.subscriptionId,
      entry.partnerId,
      entry.event,
      entry.actor,
      entry.actorRef,
      entry.detail === undefined ? null : JSON.stringify(entry.detail),
    );
}

export interface ActionEntry {
  subscriptionId: string;
  action: string;
  anniversary: string;
  outcome: string;
  effectiveOn: string;
  detail?: string | null;
  jobId?: string | null;
  at: Date;
}

/** Claims the ledger key (subscription, action, anniversary); false when it was taken already. */
export function recordAction(store: Store, entry: ActionEntry): boolean {
  const result = store.sqlite
    .prepare(
      `INSERT INTO actions (subscription_id, action, anniversary_on, outcome, effective_on, detail, job_id, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(subscription_id, action, anniversary_on) DO NOTHING`,
    )
    .run(
      entry.subscriptionId,
      entry.action,
      entry.anniversary,
      entry.outcome,
      entry.effectiveOn,
      entry.detail ?? null,
      entry.jobId ?? null,
      entry.at.toISOString(),
    );
  return result.changes === 1;
}

export function findAction(store: Store, subscriptionId: string, action: string, anniversary: string): { outcome: string; effectiveOn: string } | null {
  const row = store.sqlite
    .prepare(
      'SELECT outcome, effective_on AS effectiveOn FROM actions WHERE subscription_id = ? AND action = ? AND anniversary_on = ?',
    )
    .get(subscriptionId, action, anniversary) as { outcome: string; effectiveOn: string } | undefined;
  return row ?? null;
}

export function updateActionOutcome(store: Store, subscriptionId: string, action: string, anniversary: string, from: string, to: string): void {
  store.sqlite
    .prepare('UPDATE actions SET outcome = ? WHERE subscription_id = ? AND action = ? AND anniversary_on = ? AND outcome = ?')
    .run(to, subscriptionId, action, anniversary, from);
}

/** Writes a subscription's lifecycle state; `next_due_on` is always derived here, never set by hand. */
export function saveLifecycleState(store: Store, subscription: Subscription, at: Date, cancelTicket?: string): void {
  store.sqlite
    .prepare(
      `UPDATE subscriptions SET anniversary_on = ?, status = ?, done_mask = ?, next_due_on = ?, cancelled_on = ?,
         cancel_ticket = COALESCE(?, cancel_ticket), lapsed_on = ?, pending_invoice = ?, updated_at = ?
       WHERE id = ?`,
    )
    .run(
      subscription.anniversaryOn,
      subscription.status,
      subscription.doneMask,
      findNextDueOn(subscription),
      subscription.cancelledOn,
      cancelTicket ?? null,
      subscription.lapsedOn,
      subscription.pendingInvoice,
      at.toISOString(),
      subscription.id,
    );
}

export interface NoticeEntry {
  messageId: string;
  subscriptionId: string;
  kind: string;
  anniversary: string;
  locale: string;
  recipients: { name: string; email: string }[];
  data: unknown;
  at: Date;
}

/** Puts a notice in the outbox with the effect it reports; undeliverable at once when no one may receive it (R10). */
export function queueNotice(store: Store, entry: NoticeEntry): boolean {
  const result = store.sqlite
    .prepare(
      `INSERT INTO notices (message_id, subscription_id, kind, anniversary_on, locale, recipients, data, status, attempts, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT(message_id) DO NOTHING`,
    )
    .run(
      entry.messageId,
      entry.subscriptionId,
      entry.kind,
      entry.anniversary,
      entry.locale,
      JSON.stringify(entry.recipients),
      JSON.stringify(entry.data),
      entry.recipients.length === 0 ? 'undeliverable' : 'pending',
      entry.at.toISOString(),
    );
  return result.changes === 1;
}

export interface NoticeRow {
  id: number;
  message_id: string;
  subscription_id: string;
  kind: string;
  anniversary_on: string;
  locale: string;
  recipients: string;
  data: string;
  status: 'pending' | 'sent' | 'undeliverable';
  attempts: number;
  sent_at: string | null;
}

export function findNotice(store: Store, messageId: string): NoticeRow | null {
  return (store.sqlite.prepare('SELECT * FROM notices WHERE message_id = ?').get(messageId) as NoticeRow | undefined) ?? null;
}

export function listPendingNotices(store: Store, limit = 10_000): NoticeRow[] {
  return store.sqlite.prepare("SELECT * FROM notices WHERE status = 'pending' ORDER BY id LIMIT ?").all(limit) as NoticeRow[];
}
