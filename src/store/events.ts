import { randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { capEventId } from './event-feed.js';
import type { Executor } from './executor.js';
import type { InvoiceRow } from './invoices.js';
import { listOf } from './lists.js';

/** SPEC §8's catalogue: every state change a benefits or billing system may act on. */
export const eventTypes = [
  'notice.sent',
  'notice.undeliverable',
  'subscription.renewed',
  'subscription.renewal_pending',
  'subscription.renewal_failed',
  'subscription.lapsed',
  'subscription.cancelled',
  'subscription.reactivated',
  'invoice.paid',
  'invoice.voided',
] as const;

export type EventType = (typeof eventTypes)[number];

export interface EventInvoice {
  number: string;
  amount: string;
  currency: string;
  status: string;
}

export interface NewEvent {
  type: EventType;
  at: Date;
  subscription: string;
  partner: string;
  anniversary: string;
  /** Anything else the type carries (action, newAnniversary, reason, notice, …). */
  detail?: Record<string, unknown>;
  invoice?: InvoiceRow | null;
}

export interface EventRow {
  id: number;
  event_id: string;
  type: EventType;
  occurred_at: string;
  subscription_id: string | null;
  partner_id: string | null;
  data: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_error: string | null;
  delivered_at: string | null;
}

// Events written in this process and not yet handed to the queue: taken after the commit
// (takeCommittedEvents). A crash before that leaves them pending, and every scan re-queues
// pending events. One list per process: a transaction's executor does not name its store, and
// a daemon holds one store.
let written: { eventId: string; writtenMs: number }[] = [];

/** How long a written event without a committed row is kept: its transaction may still be open. */
const openTransactionMs = 60_000;

export function describeInvoice(invoice: InvoiceRow): EventInvoice {
  return { number: invoice.number, amount: (invoice.amount_minor / 100).toFixed(2), currency: invoice.currency, status: invoice.status };
}

/** Writes one event inside the caller's transaction, with the change it reports. */
export async function recordEvent(ex: Executor, event: NewEvent): Promise<void> {
  const row = buildEventRow(event);
  await ex.run(sql`
    INSERT INTO events (event_id, type, occurred_at, subscription_id, partner_id, data, status, attempts)
    VALUES (${row.values})`);
  noteEventWritten(row.eventId);
}

/**
 * A new event's id and the values of its row, in the column order `event_id, type, occurred_at,
 * subscription_id, partner_id, data, status, attempts`: for a statement that inserts it along with
 * the change it reports (recordNoticeSent). Once it committed, noteEventWritten.
 */
export function buildEventRow(event: NewEvent): { eventId: string; values: SQL } {
  const eventId = `evt_${randomBytes(12).toString('base64url')}`;
  const data = {
    subscription: event.subscription,
    partner: event.partner,
    anniversary: event.anniversary,
    ...event.detail,
    ...(event.invoice ? { invoice: describeInvoice(event.invoice) } : {}),
  };
  return {
    eventId,
    values: sql`${eventId}, ${event.type}, ${event.at.toISOString()}, ${event.subscription}, ${event.partner}, ${JSON.stringify(data)}, 'pending', 0`,
  };
}

/** An event this process wrote, for takeCommittedEvents to enqueue once its transaction committed. */
export function noteEventWritten(eventId: string): void {
  written.push({ eventId, writtenMs: performance.now() });
}

/** Forgets the events written so far, as a crash after their commit would. */
export function dropWrittenEvents(): void {
  written = [];
}

/**
 * The events written since the last call whose transactions have committed, to enqueue. One
 * not visible yet stays for a later call (on PostgreSQL another job's transaction may still be
 * open), until it is a minute old: then it was rolled back.
 */
export async function takeCommittedEvents(ex: Executor): Promise<string[]> {
  if (written.length === 0) return [];
  const taken = written;
  written = [];
  const committed = await findPendingEventIds(ex, taken.map((entry) => entry.eventId));
  const found = new Set(committed);
  const oldestKeptMs = performance.now() - openTransactionMs;
  written.push(...taken.filter((entry) => !found.has(entry.eventId) && entry.writtenMs > oldestKeptMs));
  return committed;
}

export async function findEvent(ex: Executor, eventId: string): Promise<EventRow | null> {
  return (await ex.get<EventRow>(sql`SELECT * FROM events WHERE event_id = ${eventId}`)) ?? null;
}

/** Of `eventIds`, those committed and still pending, in feed order. */
async function findPendingEventIds(ex: Executor, eventIds: readonly string[]): Promise<string[]> {
  const rows = await ex.all<{ event_id: string }>(sql`
    SELECT event_id FROM events WHERE status = 'pending' AND event_id IN ${listOf(ex, eventIds, 'text')} ORDER BY id`);
  return rows.map((row) => row.event_id);
}

/**
 * The oldest 10,000 events not delivered, of feed ids up to `upToId` when given: a scan re-queues
 * at most that many, the next scan the rest.
 */
export async function listUndeliveredEvents(ex: Executor, upToId?: number): Promise<EventRow[]> {
  const upTo = upToId === undefined ? sql`` : sql` AND id <= ${upToId}`;
  return ex.all<EventRow>(sql`SELECT * FROM events WHERE status IN ('pending', 'failed')${upTo} ORDER BY id LIMIT 10000`);
}

/** The newest event's feed id, 0 when there is none. */
export async function findLastEventId(ex: Executor): Promise<number> {
  const row = await ex.get<{ id: number | null }>(sql`SELECT MAX(id) AS id FROM events`);
  return Number(row?.id ?? 0);
}

export async function countEventsByStatus(ex: Executor): Promise<Record<EventRow['status'], number>> {
  const counts = { pending: 0, delivered: 0, failed: 0 };
  for (const row of await ex.all<{ status: EventRow['status']; n: number }>(sql`SELECT status, COUNT(*) AS n FROM events GROUP BY status`)) {
    counts[row.status] = row.n;
  }
  return counts;
}

export async function countEventAttempt(ex: Executor, id: number): Promise<void> {
  await ex.run(sql`UPDATE events SET attempts = attempts + 1 WHERE id = ${id}`);
}

export async function markEventDelivered(ex: Executor, id: number, at: Date): Promise<void> {
  await ex.run(sql`UPDATE events SET status = 'delivered', delivered_at = ${at.toISOString()}, last_error = NULL WHERE id = ${id}`);
}

/** A failed attempt: pending for a retry, or failed after the last one; a delivery that won meanwhile stays. */
export async function markEventUndelivered(ex: Executor, id: number, error: string, isLastAttempt: boolean): Promise<void> {
  await ex.run(sql`
    UPDATE events SET last_error = ${error}, status = CASE WHEN status = 'delivered' THEN status ELSE ${isLastAttempt ? 'failed' : 'pending'} END
    WHERE id = ${id}`);
}

/** An operator's redelivery: the events with feed ids `from`…`to` go back to pending. Returns their ids in feed order. */
export async function markEventsForRedelivery(ex: Executor, from: number, to: number): Promise<string[]> {
  if (capEventId(ex, from) < from) return [];
  const rows = await ex.all<{ id: number; event_id: string }>(sql`
    UPDATE events SET status = 'pending' WHERE id BETWEEN ${from} AND ${capEventId(ex, to)} RETURNING id, event_id`);
  return rows.sort((a, b) => a.id - b.id).map((row) => row.event_id);
}

/** The body POSTed and served by the feed: `{type, timestamp, data}`. */
export function buildEventBody(event: Pick<EventRow, 'type' | 'occurred_at' | 'data'>): string {
  return `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.occurred_at)},"data":${event.data}}`;
}

// A batch of deliveries (src/jobs/deliver-events.ts): two statements per batch, not per event.

/**
 * Of `eventIds`, those not delivered, in feed order, each with its attempt counted (before it is
 * sent): one statement finds and counts them.
 */
export async function startEventAttempts(ex: Executor, eventIds: readonly string[]): Promise<EventRow[]> {
  if (eventIds.length === 0) return [];
  const rows = await ex.all<EventRow>(sql`
    UPDATE events SET attempts = attempts + 1 WHERE status <> 'delivered' AND event_id IN ${listOf(ex, eventIds, 'text')} RETURNING *`);
  // RETURNING promises no order.
  return rows.sort((a, b) => a.id - b.id);
}

/** The events (feed ids) the receiver acknowledged. */
export async function markEventsDelivered(ex: Executor, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await ex.run(sql`
    UPDATE events SET status = 'delivered', delivered_at = ${at.toISOString()}, last_error = NULL
    WHERE id IN ${listOf(ex, ids, 'bigint')}`);
}
