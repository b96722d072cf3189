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

/** The events after the cursor `afterId`, in id order, through the primary key (or the (status, id) index). */
export function readEventPage(ex: Executor, afterId: number, limit: number, status?: EventRow['status']): Promise<EventRow[]> {
  if (status) return ex.all<EventRow>(sql`SELECT * FROM events WHERE status = ${status} AND id > ${afterId} ORDER BY id LIMIT ${limit}`);
  return ex.all<EventRow>(sql`SELECT * FROM events WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`);
}

/** The latest events whose webhook retries are spent, newest first. */
export async function listFailedEvents(ex: Executor, limit: number): Promise<FailedEventDelivery[]> {
  const rows = await ex.all<{ id: number; type: string; subscription_id: string | null; attempts: number; last_error: string | null }>(
    sql`SELECT id, type, subscription_id, attempts, last_error FROM events WHERE status = 'failed' ORDER BY id DESC LIMIT ${limit}`,
  );
  return rows.map((r) => ({ id: r.id, type: r.type, subscription: r.subscription_id, attempts: r.attempts, lastError: r.last_error }));
}
