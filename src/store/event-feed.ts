/** The events outbox as operators read it: the feed (`GET /api/events`) and the failed deliveries. */
import { sql } from 'drizzle-orm';
import type { EventRow } from './events.js';
import type { Executor } from './executor.js';

export interface FailedEventDelivery {
  id: number;
  type: string;
  subscription: string | null;
  attempts: number;
  lastError: string | null;
}

/** PostgreSQL's events.id is an `integer`: a larger bound would fail the statement, and no id lies beyond it. */
const maxPgEventId = 2_147_483_647;

/** An id bound as the backend can compare it: on PostgreSQL at most the largest `integer`. */
export function capEventId(ex: Executor, id: number): number {
  return ex.dialect === 'postgres' ? Math.min(id, maxPgEventId) : id;
}

/** How long a feed read on PostgreSQL waits for the transactions in flight to end (see findSettledEventId). */
export const defaultFeedSettleMs = 1_000;

/**
 * The events after the cursor `afterId`, in id order, through the primary key (or the (status, id)
 * index). On PostgreSQL only those up to findSettledEventId: an event whose transaction is still
 * open may hold a lower id than one committed already, and a cursor past it would never see it.
 */
export async function readEventPage(
  ex: Executor,
  cursor: number,
  limit: number,
  status?: EventRow['status'],
  options: { settleMs?: number } = {},
): Promise<EventRow[]> {
  const afterId = capEventId(ex, cursor);
  const upToId = ex.dialect === 'postgres' ? await findSettledEventId(ex, afterId, options.settleMs ?? defaultFeedSettleMs) : null;
  const upTo = upToId === null ? sql`` : sql` AND id <= ${upToId}`;
  if (status) return ex.all<EventRow>(sql`SELECT * FROM events WHERE status = ${status} AND id > ${afterId}${upTo} ORDER BY id LIMIT ${limit}`);
  return ex.all<EventRow>(sql`SELECT * FROM events WHERE id > ${afterId}${upTo} ORDER BY id LIMIT ${limit}`);
}

/**
 * PostgreSQL: the highest feed id below which no event can still appear. Ids come from a sequence
 * when a row is inserted, not when it commits, so concurrent jobs commit them out of order (SQLite
 * writes one transaction at a time: never). Every id up to the sequence's last value was taken by
 * a transaction in flight at the snapshot taken after it, or one ended before; once those have ended
 * (waited for up to `settleMs`), all of them are final. Otherwise only the unbroken run of ids
 * after the cursor is: a missing id may belong to an open transaction. (Every event is inserted
 * after an earlier write of its transaction, so its transaction has an xid when it takes the id.)
 */
async function findSettledEventId(ex: Executor, afterId: number, settleMs: number): Promise<number> {
  // The sequence's last value, or the largest id when rows came with theirs (`db copy` sets the sequence past them, unused).
  const last = await ex.get<{ id: number | null }>(sql`
    SELECT GREATEST(pg_sequence_last_value(pg_get_serial_sequence('events', 'id')::regclass), (SELECT MAX(id) FROM events)) AS id`);
  const lastId = Number(last?.id ?? 0);
  if (lastId <= afterId) return afterId;
  const snapshot = (await ex.get<{ snapshot: string }>(sql`SELECT pg_current_snapshot()::text AS snapshot`))!.snapshot;
  const deadline = performance.now() + settleMs;
  for (;;) {
    const row = await ex.get<{ settled: boolean }>(sql`SELECT pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmax(${snapshot}::pg_snapshot) AS settled`);
    if (row?.settled) return lastId;
    if (performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const ids = await ex.all<{ id: number }>(sql`SELECT id FROM events WHERE id > ${afterId} AND id <= ${lastId} ORDER BY id LIMIT 10000`);
  let upTo = afterId;
  for (const { id } of ids) {
    if (Number(id) !== upTo + 1) break;
    upTo = Number(id);
  }
  return upTo;
}

/** The latest events whose webhook retries are spent, newest first. */
export async function listFailedEvents(ex: Executor, limit: number): Promise<FailedEventDelivery[]> {
  const rows = await ex.all<{ id: number; type: string; subscription_id: string | null; attempts: number; last_error: string | null }>(
    sql`SELECT id, type, subscription_id, attempts, last_error FROM events WHERE status = 'failed' ORDER BY id DESC LIMIT ${limit}`,
  );
  return rows.map((r) => ({ id: r.id, type: r.type, subscription: r.subscription_id, attempts: r.attempts, lastError: r.last_error }));
}
