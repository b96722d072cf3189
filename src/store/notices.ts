import { sql } from 'drizzle-orm';
import { buildEventRow, noteEventWritten, recordEvent, type NewEvent } from './events.js';
import { prepared, type Executor, type Store } from './executor.js';
import { markReminderSent } from './ledger.js';

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
  /** While pending, the end of the claim of the delivery handing it to SMTP (claimNoticeAttempt). */
  claimed_until: string | null;
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

/**
 * Claims a pending notice for one delivery until `claimedUntil`, counting one more attempt, and
 * returns it (`attempts` already counted), in one statement; null when it is not pending (sent,
 * undeliverable), unknown, or claimed by another delivery that has not let go and whose claim has
 * not run out: findNotice tells. The condition decides on both backends (on PostgreSQL a second
 * claim waits for the first's row lock, then finds it claimed), so a job run again while its
 * first run still hands the notice to SMTP (a stalled job) does not send it a second time.
 * Prepared (one per delivery), so it names NoticeRow's columns rather than `*`.
 */
export async function claimNoticeAttempt(ex: Executor, messageId: string, at: Date, claimedUntil: Date): Promise<NoticeRow | null> {
  return (
    (await ex.get<NoticeRow>(
      prepared(sql`
        UPDATE notices SET attempts = attempts + 1, claimed_until = ${claimedUntil.toISOString()}
        WHERE message_id = ${messageId} AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ${at.toISOString()})
        RETURNING id, message_id, subscription_id, kind, anniversary_on, locale, recipients, data, status, attempts, sent_at, claimed_until`),
    )) ?? null
  );
}

/** A delivery whose hand-off failed lets go of its claim (only its own: one that ran out may be another's now). */
export async function releaseNoticeClaim(ex: Executor, notice: NoticeRow): Promise<void> {
  await ex.run(sql`UPDATE notices SET claimed_until = NULL WHERE id = ${notice.id} AND status = 'pending' AND claimed_until = ${notice.claimed_until}`);
}

/** Pending → sent; false when another delivery marked it first (the condition decides on both backends). */
export async function markNoticeSent(ex: Executor, id: number, at: Date): Promise<boolean> {
  const updated = await ex.run(sql`UPDATE notices SET status = 'sent', sent_at = ${at.toISOString()} WHERE id = ${id} AND status = 'pending'`);
  return updated === 1;
}

/**
 * Pending → sent with what goes with it, all at once: a reminder's ledger entry from `sending` to
 * `sent` (`isReminder`) and the notice.sent `event`. False, and nothing written, when another
 * delivery marked it first: of two deliveries racing, only the one whose conditional mark took
 * writes the event (the notice's status condition decides on both backends; on PostgreSQL the
 * loser's UPDATE waits for the winner's row lock, then finds it sent).
 *
 * PostgreSQL: one prepared statement whose CTEs write only when the mark took, run on its own
 * (a statement commits or not as a whole: no BEGIN and COMMIT round trips). SQLite: the three
 * statements in one transaction, in-process anyway.
 */
export async function recordNoticeSent(store: Store, notice: NoticeRow, at: Date, isReminder: boolean, event: NewEvent): Promise<boolean> {
  if (store.dialect === 'sqlite') {
    return store.transaction(async (tx) => {
      if (!(await markNoticeSent(tx, notice.id, at))) return false;
      if (isReminder) await markReminderSent(tx, notice.subscription_id, notice.kind, notice.anniversary_on);
      await recordEvent(tx, event);
      return true;
    });
  }
  const row = buildEventRow(event);
  const reminder = isReminder
    ? sql`, reminder AS (
        UPDATE actions SET outcome = 'sent'
        WHERE subscription_id = ${notice.subscription_id} AND action = ${notice.kind} AND anniversary_on = ${notice.anniversary_on}
          AND outcome = 'sending' AND EXISTS (SELECT 1 FROM sent))`
    : sql``;
  // Repeatable: run again after a lost connection, it writes nothing if the first run committed
  // (the notice is no longer pending), so a connection lost at any point runs it again rather
  // than failing the job and sending the notice a second time.
  const marked = await store.allRepeatable(
    prepared(sql`
      WITH sent AS (
        UPDATE notices SET status = 'sent', sent_at = ${at.toISOString()} WHERE id = ${notice.id} AND status = 'pending' RETURNING id
      )${reminder}, event AS (
        INSERT INTO events (event_id, type, occurred_at, subscription_id, partner_id, data, status, attempts)
        SELECT ${row.values} WHERE EXISTS (SELECT 1 FROM sent)
      )
      SELECT id FROM sent`),
  );
  // Noted even when nothing took: a first run that committed before its connection was lost
  // reads as false on the second. takeCommittedEvents queues the event if it is there, and
  // forgets the id after a minute if not.
  noteEventWritten(row.eventId);
  return marked.length > 0;
}
