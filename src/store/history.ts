import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

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

export interface History {
  actions: ActionRecord[];
  notices: NoticeRecord[];
  audit: AuditRecord[];
  invoices: InvoiceRecord[];
}

/** A JSON column: text on SQLite; a PostgreSQL json column arrives parsed already. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** Everything recorded about one subscription, oldest first: what `show` prints. */
export async function readHistory(ex: Executor, subscriptionId: string): Promise<History> {
  const actions = await ex.all<{ action: string; anniversary_on: string; outcome: string; effective_on: string; detail: string | null; recorded_at: string }>(
    sql`SELECT action, anniversary_on, outcome, effective_on, detail, recorded_at
        FROM actions WHERE subscription_id = ${subscriptionId} ORDER BY id`,
  );
  const notices = await ex.all<{ kind: string; anniversary_on: string; message_id: string; recipients: unknown; status: string; attempts: number; sent_at: string | null }>(
    sql`SELECT kind, anniversary_on, message_id, recipients, status, attempts, sent_at
        FROM notices WHERE subscription_id = ${subscriptionId} ORDER BY id`,
  );
  const audit = await ex.all<{ at: string; effective_on: string | null; event: string; actor: string; actor_ref: string | null; detail: unknown }>(
    sql`SELECT at, effective_on, event, actor, actor_ref, detail
        FROM audit_events WHERE subscription_id = ${subscriptionId} ORDER BY id`,
  );
  const invoices = await ex.all<{
    number: string;
    anniversary_on: string;
    purpose: string;
    amount_minor: number;
    currency: string;
    method: string;
    status: string;
    renews_to: string;
    issued_on: string;
    paid_on: string | null;
    failure_reason: string | null;
  }>(
    sql`SELECT number, anniversary_on, purpose, amount_minor, currency, method, status, renews_to, issued_on, paid_on, failure_reason
        FROM invoices WHERE subscription_id = ${subscriptionId} ORDER BY seq`,
  );
  return {
    actions: actions.map((a) => ({
      action: a.action,
      anniversary: a.anniversary_on,
      outcome: a.outcome,
      effectiveOn: a.effective_on,
      detail: a.detail,
      recordedAt: a.recorded_at,
    })),
    notices: notices.map((n) => ({
      kind: n.kind,
      anniversary: n.anniversary_on,
      messageId: n.message_id,
      recipients: (parseJson(n.recipients) as { email: string }[]).map((r) => r.email),
      status: n.status,
      attempts: n.attempts,
      sentAt: n.sent_at,
    })),
    audit: audit.map((a) => ({
      at: a.at,
      effectiveOn: a.effective_on,
      event: a.event,
      actor: a.actor,
      actorRef: a.actor_ref,
      detail: a.detail ? parseJson(a.detail) : null,
    })),
    invoices: invoices.map((i) => ({
      number: i.number,
      anniversary: i.anniversary_on,
      purpose: i.purpose,
      amountMinor: i.amount_minor,
      currency: i.currency,
      method: i.method,
      status: i.status,
      renewsTo: i.renews_to,
      issuedOn: i.issued_on,
      paidOn: i.paid_on,
      failureReason: i.failure_reason,
    })),
  };
}
