import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

/** The outbox: every notice, written with the effect it reports and delivered after it. */
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

/**
 * Puts a notice in the outbox, undeliverable at once when no one may receive it (R10). False
 * when its Message-ID is there already (the unique key decides).
 */
export async function addNoticeToOutbox(ex: Executor, entry: NoticeEntry): Promise<boolean> {
  const inserted = await ex.run(sql`
    INSERT INTO notices (message_id, subscription_id, kind, anniversary_on, locale, recipients, data, status, attempts, created_at)
    VALUES (${entry.messageId}, ${entry.subscriptionId}, ${entry.kind}, ${entry.anniversary}, ${entry.locale},
      ${JSON.stringify(entry.recipients)}, ${JSON.stringify(entry.data)}, ${entry.recipients.length === 0 ? 'undeliverable' : 'pending'},
      0, ${entry.at.toISOString()})
    ON CONFLICT (message_id) DO NOTHING`);
  return inserted === 1;
}

export async function findNotice(ex: Executor, messageId: string): Promise<NoticeRow | null> {
  return (await ex.get<NoticeRow>(sql`SELECT * FROM notices WHERE message_id = ${messageId}`)) ?? null;
}

/** The oldest 10,000 notices not sent: a scan re-queues at most that many, the next scan the rest. */
export async function listPendingNotices(ex: Executor): Promise<NoticeRow[]> {
  return ex.all<NoticeRow>(sql`SELECT * FROM notices WHERE status = 'pending' ORDER BY id LIMIT 10000`);
}

/** The auto-renew's own notice of a cycle; the oldest, as an operator may write an invoice-pending later. */
export async function findAutoRenewNoticeId(ex: Executor, subscriptionId: string, anniversary: string): Promise<string | null> {
  const row = await ex.get<{ message_id: string }>(sql`
    SELECT message_id FROM notices
    WHERE subscription_id = ${subscriptionId} AND anniversary_on = ${anniversary}
      AND kind IN ('auto-renew-receipt', 'auto-renew-failed', 'invoice-pending')
    ORDER BY id LIMIT 1`);
  return row?.message_id ?? null;
}

export async function countNoticeAttempt(ex: Executor, id: number): Promise<void> {
  await ex.run(sql`UPDATE notices SET attempts = attempts + 1 WHERE id = ${id}`);
}

/** Pending → sent; false when another delivery marked it first (the condition decides on both backends). */
export async function markNoticeSent(ex: Executor, id: number, at: Date): Promise<boolean> {
  const updated = await ex.run(sql`UPDATE notices SET status = 'sent', sent_at = ${at.toISOString()} WHERE id = ${id} AND status = 'pending'`);
  return updated === 1;
}
