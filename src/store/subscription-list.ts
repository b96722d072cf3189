/** Subscriptions as the admin API lists them: filtered pages in id order, and what a row holds beyond the policy's view. */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from './executor.js';
import type { SubscriptionRow } from './rows.js';

export interface SubscriptionFilter {
  partner?: string;
  status?: SubscriptionRow['status'];
  offer?: SubscriptionRow['offer'];
  anniversaryFrom?: string;
  anniversaryTo?: string;
  /** The last id of the previous page. */
  after?: string;
}

/** Rows walked per statement on SQLite (a few milliseconds), with a yield to the event loop between two. */
const defaultChunkRows = 10_000;

function buildConditions(filter: SubscriptionFilter): SQL[] {
  const where: SQL[] = [];
  if (filter.partner !== undefined) where.push(sql`partner_id = ${filter.partner}`);
  if (filter.status !== undefined) where.push(sql`status = ${filter.status}`);
  if (filter.offer !== undefined) where.push(sql`offer = ${filter.offer}`);
  if (filter.anniversaryFrom !== undefined) where.push(sql`anniversary_on >= ${filter.anniversaryFrom}`);
  if (filter.anniversaryTo !== undefined) where.push(sql`anniversary_on <= ${filter.anniversaryTo}`);
  return where;
}

function selectPage(ex: Executor, where: SQL[], limit: number): Promise<SubscriptionRow[]> {
  const condition = where.length > 0 ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
  return ex.all<SubscriptionRow>(sql`SELECT * FROM subscriptions ${condition} ORDER BY id LIMIT ${limit}`);
}

/**
 * Up to `limit` rows in id order after `filter.after`; each filter given narrows by one equality
 * or bound. Status and offer have no index: filtered on them alone, a page walks the primary key
 * until it is full (all of it for a status no row has). PostgreSQL walks in its own process;
 * SQLite walks on this thread, so there it goes `chunkRows` keys at a time with a yield between
 * two, and requests and jobs go on meanwhile. A partner or anniversary filter is left to the
 * planner, which reads the partner's or the range's index.
 */
export async function listSubscriptionPage(ex: Executor, filter: SubscriptionFilter, limit: number, chunkRows = defaultChunkRows): Promise<SubscriptionRow[]> {
  const where = buildConditions(filter);
  const isIndexed = filter.partner !== undefined || filter.anniversaryFrom !== undefined || filter.anniversaryTo !== undefined;
  if (ex.dialect !== 'sqlite' || isIndexed || where.length === 0) {
    return selectPage(ex, filter.after === undefined ? where : [...where, sql`id > ${filter.after}`], limit);
  }
  const rows: SubscriptionRow[] = [];
  let after = filter.after;
  for (;;) {
    const start = after === undefined ? sql`` : sql`WHERE id > ${after}`;
    const end = await ex.get<{ id: string }>(sql`SELECT id FROM subscriptions ${start} ORDER BY id LIMIT 1 OFFSET ${chunkRows - 1}`);
    const bounds = [...(after === undefined ? [] : [sql`id > ${after}`]), ...(end ? [sql`id <= ${end.id}`] : [])];
    rows.push(...(await selectPage(ex, [...where, ...bounds], limit - rows.length)));
    if (rows.length >= limit || !end) return rows;
    after = end.id;
    await yieldToEventLoop();
  }
}

/** The support ticket a cancellation quoted (R11); null when none or no such subscription. */
export async function findCancelTicket(ex: Executor, id: string): Promise<string | null> {
  const row = await ex.get<{ cancel_ticket: string | null }>(sql`SELECT cancel_ticket FROM subscriptions WHERE id = ${id}`);
  return row?.cancel_ticket ?? null;
}
