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

/** `isWalk`: SQLite's unary `+` keeps the anniversary index out, so a chunk is read through the primary key. */
function buildConditions(filter: SubscriptionFilter, isWalk = false): SQL[] {
  const anniversary = isWalk ? sql`+anniversary_on` : sql`anniversary_on`;
  const where: SQL[] = [];
  if (filter.partner !== undefined) where.push(sql`partner_id = ${filter.partner}`);
  if (filter.status !== undefined) where.push(sql`status = ${filter.status}`);
  if (filter.offer !== undefined) where.push(sql`offer = ${filter.offer}`);
  if (filter.anniversaryFrom !== undefined) where.push(sql`${anniversary} >= ${filter.anniversaryFrom}`);
  if (filter.anniversaryTo !== undefined) where.push(sql`${anniversary} <= ${filter.anniversaryTo}`);
  return where;
}

function selectPage(ex: Executor, where: SQL[], limit: number, index: SQL = sql``): Promise<SubscriptionRow[]> {
  const condition = where.length > 0 ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
  return ex.all<SubscriptionRow>(sql`SELECT * FROM subscriptions ${index} ${condition} ORDER BY id LIMIT ${limit}`);
}

/** Whether the anniversary range holds at most `rows` subscriptions: an index-only count that stops there. */
async function isRangeSmall(ex: Executor, filter: SubscriptionFilter, rows: number): Promise<boolean> {
  const bounds = buildConditions({ anniversaryFrom: filter.anniversaryFrom, anniversaryTo: filter.anniversaryTo });
  const found = await ex.get<{ n: number }>(
    sql`SELECT COUNT(*) AS n FROM (SELECT 1 FROM subscriptions WHERE ${sql.join(bounds, sql` AND `)} LIMIT ${rows + 1}) AS probe`,
  );
  return Number(found?.n ?? 0) <= rows;
}

/**
 * Up to `limit` rows in id order after `filter.after`; each filter given narrows by one equality
 * or bound. PostgreSQL plans and walks in its own process. SQLite walks on this thread, so no
 * page may hold it for a walk of the whole table (a status no row has, at 1,000,000 rows): a
 * partner's rows are read through its index, a small anniversary range (at most `chunkRows`
 * rows) through the anniversary index and sorted; any other filter walks the primary key
 * `chunkRows` keys at a time with a yield between two, and requests and jobs go on meanwhile.
 */
export async function listSubscriptionPage(ex: Executor, filter: SubscriptionFilter, limit: number, chunkRows = defaultChunkRows): Promise<SubscriptionRow[]> {
  const where = buildConditions(filter);
  const afterBound = filter.after === undefined ? [] : [sql`id > ${filter.after}`];
  if (ex.dialect !== 'sqlite' || filter.partner !== undefined || where.length === 0) return selectPage(ex, [...where, ...afterBound], limit);
  const hasRange = filter.anniversaryFrom !== undefined || filter.anniversaryTo !== undefined;
  if (hasRange && (await isRangeSmall(ex, filter, chunkRows))) {
    // SQLite's own choice can be the primary key (in id order, no sort), walking far for a narrow range.
    return selectPage(ex, [...where, ...afterBound], limit, sql`INDEXED BY subscriptions_anniversary_idx`);
  }
  const walkWhere = buildConditions(filter, true);
  const rows: SubscriptionRow[] = [];
  let after = filter.after;
  for (;;) {
    const start = after === undefined ? sql`` : sql`WHERE id > ${after}`;
    const end = await ex.get<{ id: string }>(sql`SELECT id FROM subscriptions ${start} ORDER BY id LIMIT 1 OFFSET ${chunkRows - 1}`);
    const bounds = [...(after === undefined ? [] : [sql`id > ${after}`]), ...(end ? [sql`id <= ${end.id}`] : [])];
    rows.push(...(await selectPage(ex, [...walkWhere, ...bounds], limit - rows.length)));
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

// The console's list (GET /api/subscriptions): the filters above, and an id prefix and a due day.

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
 * One keyset page of the console's list, `limit + 1` rows at most (the extra one says a next page
 * exists). Without `dueBy` or `idPrefix` it is `listSubscriptionPage` (id order; on SQLite a
 * filter walks the primary key in chunks, so no page holds the thread for a walk of the table;
 * a status filter reads `subscriptions_status_idx`). With `dueBy`: (next_due_on, id) order
 * through the partial due index; with `idPrefix`: the primary key's range of that prefix.
 */
export async function readSubscriptionPage(
  ex: Executor,
  filter: SubscriptionListFilter,
  after: SubscriptionListCursor | null,
  limit: number,
): Promise<SubscriptionRow[]> {
  if (filter.dueBy === undefined && filter.idPrefix === undefined) {
    const { partner, status, offer, anniversaryFrom, anniversaryTo } = filter;
    const plain: SubscriptionFilter = {
      ...(partner !== undefined ? { partner } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(offer !== undefined ? { offer } : {}),
      ...(anniversaryFrom !== undefined ? { anniversaryFrom } : {}),
      ...(anniversaryTo !== undefined ? { anniversaryTo } : {}),
      ...(after ? { after: after.id } : {}),
    };
    return listSubscriptionPage(ex, plain, limit + 1);
  }
  const where: SQL[] = [];
  if (filter.idPrefix !== undefined) {
    // Both backends compare ids byte by byte (SQLite's BINARY, PostgreSQL's COLLATE "C" of
    // schema-pg.ts): a range on the primary key.
    where.push(sql`id >= ${filter.idPrefix} AND id < ${filter.idPrefix + idCeiling}`);
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
