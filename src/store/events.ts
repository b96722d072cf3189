import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';
import type { Store } from './db.js';
import type { InvoiceRow } from './invoices.js';

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

// Events written in this process and not yet handed to the queue: flushed after the commit
// (takeWrittenEvents). A rolled-back one finds no row when its job runs; a crash before the
// flush leaves it pending, and every scan re-queues pending events.
const writtenByStore = new WeakMap<Store, string[]>();

// Prepared once per connection: every notice delivery writes an event (bench/e2e.ts measures that path).
const insertByConnection = new WeakMap<Database.Database, Database.Statement>();

export function describeInvoice(invoice: InvoiceRow): EventInvoice {
  return { number: invoice.number, amount: (invoice.amount_minor / 100).toFixed(2), currency: invoice.currency, status: invoice.status };
}

/** Writes one event inside the caller's transaction, with the change it reports. */
export function recordEvent(store: Store, event: NewEvent): string {
  const eventId = `evt_${randomBytes(12).toString('base64url')}`;
  const data = {
    subscription: event.subscription,
    partner: event.partner,
    anniversary: event.anniversary,
    ...event.detail,
    ...(event.invoice ? { invoice: describeInvoice(event.invoice) } : {}),
  };
  let insert = insertByConnection.get(store.sqlite);
  if (!insert) {
    insert = store.sqlite.prepare(
      `INSERT INTO events (event_id, type, occurred_at, subscription_id, partner_id, data, status, attempts)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0)`,
    );
    insertByConnection.set(store.sqlite, insert);
  }
  insert.run(eventId, event.type, event.at.toISOString(), event.subscription, event.partner, JSON.stringify(data));
  let written = writtenByStore.get(store);
  if (!written) writtenByStore.set(store, (written = []));
  written.push(eventId);
  return eventId;
}

/** The ids written since the last call, to enqueue once their transaction has committed. */
export function takeWrittenEvents(store: Store): string[] {
  const written = writtenByStore.get(store) ?? [];
  writtenByStore.set(store, []);
  return written;
}

export function findEvent(store: Store, eventId: string): EventRow | null {
  return (store.sqlite.prepare('SELECT * FROM events WHERE event_id = ?').get(eventId) as EventRow | undefined) ?? null;
}

export function listUndeliveredEvents(store: Store, limit = 10_000): EventRow[] {
  return store.sqlite.prepare("SELECT * FROM events WHERE status IN ('pending', 'failed') ORDER BY id LIMIT ?").all(limit) as EventRow[];
}

export function countEventsByStatus(store: Store): Record<EventRow['status'], number> {
  const counts = { pending: 0, delivered: 0, failed: 0 };
  for (const row of store.sqlite.prepare('SELECT status, COUNT(*) AS n FROM events GROUP BY status').all() as { status: EventRow['status']; n: number }[]) {
    counts[row.status] = row.n;
  }
  return counts;
}

/** The body POSTed and served by the feed: `{type, timestamp, data}`. */
export function buildEventBody(event: Pick<EventRow, 'type' | 'occurred_at' | 'data'>): string {
  return `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.occurred_at)},"data":${event.data}}`;
}

// A batch of deliveries (src/jobs/deliver-events.ts): three statements per batch, not per event.

/** Of `eventIds` (at most a few hundred: one bound parameter each), those not delivered, in feed order. */
export async function findUndeliveredEvents(ex: Executor, eventIds: readonly string[]): Promise<EventRow[]> {
  if (eventIds.length === 0) return [];
  return ex.all<EventRow>(sql`
    SELECT * FROM events WHERE status <> 'delivered' AND event_id IN (${sql.join(eventIds.map((id) => sql`${id}`), sql`, `)}) ORDER BY id`);
}

/** One attempt more for each of the events (feed ids), counted before they are sent. */
export async function countEventAttempts(ex: Executor, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await ex.run(sql`UPDATE events SET attempts = attempts + 1 WHERE id IN (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`);
}

/** The events (feed ids) the receiver acknowledged. */
export async function markEventsDelivered(ex: Executor, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await ex.run(sql`
    UPDATE events SET status = 'delivered', delivered_at = ${at.toISOString()}, last_error = NULL
    WHERE id IN (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`);
}

// TEMP until core's conversion lands (it adds the same operation).
export async function markEventUndelivered(ex: Executor, id: number, error: string, isLastAttempt: boolean): Promise<void> {
  await ex.run(sql`
    UPDATE events SET last_error = ${error}, status = CASE WHEN status = 'delivered' THEN status ELSE ${isLastAttempt ? 'failed' : 'pending'} END
    WHERE id = ${id}`);
}
