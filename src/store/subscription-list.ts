import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from './executor.js';
import type { SubscriptionRow } from './rows.js';

export interface SubscriptionListFilter {
  /** The start of a subscription id (a case-sensitive prefix). */
  idPrefix?: string;
  partner?: string;
  status?: 'active' | 'lapsed' | 'cancelled';
  offer?: 'action_pack' | 'competency';
  anniversaryFrom?: string;
  anniversaryTo?: string;
  /** Only subscriptions with something pending on or before this day; the page is then in due-day order. */
  dueBy?: string;
}

/** Where the previous page ended: its last row's id, and its next due day when ordered by it. */
export interface SubscriptionListCursor {
  id: string;
  nextDueOn?: string;
}

/** The highest character an id may hold is ASCII (README "Input limits"): `prefix + '~'` bounds every id starting with it. */
const idCeiling = '\u007f';

/**
 * One keyset page of subscriptions, `limit + 1` rows at most (the extra one says a next page
 * exists). In id order through the primary key, or, with `dueBy`, in (next_due_on, id) order
 * through the partial due index; a status filter reads `subscriptions_status_idx`
 * (status, id). Either way a page reads about what it returns, not the table.
 */
export async function readSubscriptionPage(
  ex: Executor,
  filter: SubscriptionListFilter,
  after: SubscriptionListCursor | null,
  limit: number,
): Promise<SubscriptionRow[]> {
  const where: SQL[] = [];
  if (filter.idPrefix !== undefined) {
    // SQLite compares text bytewise: a range on the primary key. PostgreSQL's collation may not
    // order ASCII bytewise, so there the prefix is tested as such (rows still come in id order).
    where.push(ex.dialect === 'sqlite' ? sql`id >= ${filter.idPrefix} AND id < ${filter.idPrefix + idCeiling}` : sql`starts_with(id, ${filter.idPrefix})`);
  }
  if (filter.partner !== undefined) where.push(sql`partner_id = ${filter.partner}`);
  if (filter.status !== undefined) where.push(sql`status = ${filter.status}`);
  if (filter.offer !== undefined) where.push(sql`offer = ${filter.offer}`);
  if (filter.anniversaryFrom !== undefined) where.push(sql`anniversary_on >= ${filter.anniversaryFrom}`);
  if (filter.anniversaryTo !== undefined) where.push(sql`anniversary_on <= ${filter.anniversaryTo}`);
  let order: SQL;
  if (filter.dueBy !== undefined) {
    where.push(sql`next_due_on IS NOT NULL AND next_due_on <= ${filter.dueBy}`);
    if (after) where.push(sql`(next_due_on, id) > (${after.nextDueOn ?? ''}, ${after.id})`);
    order = sql`ORDER BY next_due_on, id`;
  } else {
    if (after) where.push(sql`id > ${after.id}`);
    order = sql`ORDER BY id`;
  }
  const condition = where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
  return ex.all<SubscriptionRow>(sql`SELECT * FROM subscriptions ${condition} ${order} LIMIT ${limit + 1}`);
}
