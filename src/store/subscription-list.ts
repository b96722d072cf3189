/** Subscriptions as the admin API lists them: filtered pages in id order, and what a row holds beyond the policy's view. */
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

/** Up to `limit` rows in id order after `filter.after`; each filter given narrows by one equality or bound. */
export function listSubscriptionPage(ex: Executor, filter: SubscriptionFilter, limit: number): Promise<SubscriptionRow[]> {
  const where: SQL[] = [];
  if (filter.partner !== undefined) where.push(sql`partner_id = ${filter.partner}`);
  if (filter.status !== undefined) where.push(sql`status = ${filter.status}`);
  if (filter.offer !== undefined) where.push(sql`offer = ${filter.offer}`);
  if (filter.anniversaryFrom !== undefined) where.push(sql`anniversary_on >= ${filter.anniversaryFrom}`);
  if (filter.anniversaryTo !== undefined) where.push(sql`anniversary_on <= ${filter.anniversaryTo}`);
  if (filter.after !== undefined) where.push(sql`id > ${filter.after}`);
  const condition = where.length > 0 ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
  return ex.all<SubscriptionRow>(sql`SELECT * FROM subscriptions ${condition} ORDER BY id LIMIT ${limit}`);
}

/** The support ticket a cancellation quoted (R11); null when none or no such subscription. */
export async function findCancelTicket(ex: Executor, id: string): Promise<string | null> {
  const row = await ex.get<{ cancel_ticket: string | null }>(sql`SELECT cancel_ticket FROM subscriptions WHERE id = ${id}`);
  return row?.cancel_ticket ?? null;
}
