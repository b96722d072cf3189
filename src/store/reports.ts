/** What `lifecycle status` and the console read about the system as a whole: counts and recent trouble. */
import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

export interface ScanRunSummary {
  id: number;
  asOf: string;
  trigger: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  due: number;
  enqueued: number;
  missed: number;
  error: string | null;
}

export interface UndeliverableNotice {
  subscription: string;
  /** Null when the subscription row is gone. */
  partner: string | null;
  kind: string;
  anniversary: string;
  messageId: string;
  at: string;
}

async function countByStatus(rows: Promise<{ status: string; n: number }[]>): Promise<Record<string, number>> {
  return Object.fromEntries((await rows).map((row) => [row.status, Number(row.n)]));
}

/** A whole-table count: for the CLI's report, never for a route polled by the console. */
export function countSubscriptionsByStatus(ex: Executor): Promise<Record<string, number>> {
  return countByStatus(ex.all(sql`SELECT status, COUNT(*) AS n FROM subscriptions GROUP BY status`));
}

export function countNoticesByStatus(ex: Executor): Promise<Record<string, number>> {
  return countByStatus(ex.all(sql`SELECT status, COUNT(*) AS n FROM notices GROUP BY status`));
}

/** The latest scans, newest first. */
export async function listRecentScanRuns(ex: Executor, limit: number): Promise<ScanRunSummary[]> {
  const rows = await ex.all<{
    id: number;
    as_of: string;
    trigger: string;
    status: string;
    started_at: string;
    finished_at: string | null;
    due_count: number;
    enqueued_count: number;
    missed_count: number;
    error: string | null;
  }>(
    sql`SELECT id, as_of, "trigger", status, started_at, finished_at, due_count, enqueued_count, missed_count, error
        FROM scan_runs ORDER BY id DESC LIMIT ${limit}`,
  );
  return rows.map((r) => ({
    id: r.id,
    asOf: r.as_of,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    due: r.due_count,
    enqueued: r.enqueued_count,
    missed: r.missed_count,
    error: r.error,
  }));
}

/** Notices no one could receive (R10), newest first, read through the status index. */
export async function listUndeliverableNotices(ex: Executor, limit: number): Promise<UndeliverableNotice[]> {
  const rows = await ex.all<{ subscription_id: string; partner_id: string | null; kind: string; anniversary_on: string; message_id: string; created_at: string }>(
    sql`SELECT n.subscription_id, s.partner_id, n.kind, n.anniversary_on, n.message_id, n.created_at
        FROM notices n LEFT JOIN subscriptions s ON s.id = n.subscription_id
        WHERE n.status = 'undeliverable' ORDER BY n.id DESC LIMIT ${limit}`,
  );
  return rows.map((r) => ({
    subscription: r.subscription_id,
    partner: r.partner_id,
    kind: r.kind,
    anniversary: r.anniversary_on,
    messageId: r.message_id,
    at: r.created_at,
  }));
}
