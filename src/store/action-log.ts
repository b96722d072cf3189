/** The ledger read in the order actions were recorded: what a time-lapse reports day by day. */
import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

export interface LoggedAction {
  subscription: string;
  action: string;
  anniversary: string;
  outcome: string;
}

/** The id of the latest action recorded, 0 on an empty ledger: actions recorded later have greater ids. */
export async function findLastActionId(ex: Executor): Promise<number> {
  const row = await ex.get<{ id: number | null }>(sql`SELECT MAX(id) AS id FROM actions`);
  return Number(row?.id ?? 0);
}

/** The actions that took effect on `day` and were recorded after `afterId`, in the order recorded. */
export async function listActionsOn(ex: Executor, day: string, afterId: number): Promise<LoggedAction[]> {
  const rows = await ex.all<{ subscription_id: string; action: string; anniversary_on: string; outcome: string }>(
    sql`SELECT subscription_id, action, anniversary_on, outcome FROM actions WHERE effective_on = ${day} AND id > ${afterId} ORDER BY id`,
  );
  return rows.map((r) => ({ subscription: r.subscription_id, action: r.action, anniversary: r.anniversary_on, outcome: r.outcome }));
}
