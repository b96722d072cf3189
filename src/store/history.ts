import type { Store } from './db.js';

export interface ActionRecord {
  action: string;
  anniversary: string;
  outcome: string;
  effectiveOn: string;
  detail: string | null;
  recordedAt: string;
}

export interface NoticeRecord {
  kind: string;
  anniversary: string;
  messageId: string;
  recipients: string[];
  status: string;
  attempts: number;
  sentAt: string | null;
}

export interface AuditRecord {
  at: string;
  effectiveOn: string | null;
  event: string;
  actor: string;
  actorRef: string | null;
  detail: unknown;
}

export interface InvoiceRecord {
  number: string;
  anniversary: string;
  purpose: string;
  amountMinor: number;
  currency: string;
  method: string;
  status: string;
  renewsTo: string;
  issuedOn: string;
  paidOn: string | null;
  failureReason: string | null;
}

/** Everything recorded about one subscription, oldest first: what `show` prints. */
export function readHistory(store: Store, subscriptionId: string) {
  const { sqlite } = store;
  const actions = sqlite
    .prepare(
      `SELECT action, anniversary_on AS anniversary, outcome, effective_on AS effectiveOn, detail, recorded_at AS recordedAt
       FROM actions WHERE subscription_id = ? ORDER BY id`,
    )
    .all(subscriptionId) as ActionRecord[];
  const notices = (
    sqlite
      .prepare(
        `SELECT kind, anniversary_on AS anniversary, message_id AS messageId, recipients, status, attempts, sent_at AS sentAt
         FROM notices WHERE subscription_id = ? ORDER BY id`,
      )
      .all(subscriptionId) as (Omit<NoticeRecord, 'recipients'> & { recipients: string })[]
  ).map((n) => ({ ...n, recipients: (JSON.parse(n.recipients) as { email: string }[]).map((r) => r.email) }));
  const audit = (
    sqlite
      .prepare(
        `SELECT at, effective_on AS effectiveOn, event, actor, actor_ref AS actorRef, detail
         FROM audit_events WHERE subscription_id = ? ORDER BY id`,
      )
      .all(subscriptionId) as (Omit<AuditRecord, 'detail'> & { detail: string | null })[]
  ).map((a) => ({ ...a, detail: a.detail ? (JSON.parse(a.detail) as unknown) : null }));
  const invoices = sqlite
    .prepare(
      `SELECT number, anniversary_on AS anniversary, purpose, amount_minor AS amountMinor, currency, method, status,
         renews_to AS renewsTo, issued_on AS issuedOn, paid_on AS paidOn, failure_reason AS failureReason
       FROM invoices WHERE subscription_id = ? ORDER BY seq`,
    )
    .all(subscriptionId) as InvoiceRecord[];
  return { actions, notices, audit, invoices };
}
