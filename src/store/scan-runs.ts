import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

export interface ScanCounts {
  due: number;
  enqueued: number;
  missed: number;
}

/**
 * Records a scan starting; null when it is the daily scan of a day that has one done. One daily
 * scan a day: the partial unique key claims the day, on PostgreSQL as on SQLite. A daily scan
 * that failed or was killed midway runs again: every step of a scan is idempotent (job ids,
 * ledger keys), so finishing it twice adds nothing.
 */
export async function startScanRun(ex: Executor, asOf: string, trigger: string, at: Date): Promise<number | null> {
  const startedAt = at.toISOString();
  const inserted = await ex.get<{ id: number }>(sql`
    INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES (${asOf}, ${trigger}, 'running', ${startedAt})
    ON CONFLICT (as_of) WHERE "trigger" = 'daily' DO NOTHING
    RETURNING id`);
  if (inserted) return inserted.id;
  const resumed = await ex.get<{ id: number }>(sql`
    UPDATE scan_runs SET status = 'running', started_at = ${startedAt}, error = NULL
    WHERE as_of = ${asOf} AND "trigger" = 'daily' AND status <> 'done'
    RETURNING id`);
  return resumed?.id ?? null;
}

export async function finishScanRun(ex: Executor, id: number, counts: ScanCounts, at: Date): Promise<void> {
  await ex.run(sql`
    UPDATE scan_runs SET status = 'done', finished_at = ${at.toISOString()}, due_count = ${counts.due},
      enqueued_count = ${counts.enqueued}, missed_count = ${counts.missed}
    WHERE id = ${id}`);
}

export async function failScanRun(ex: Executor, id: number, error: string, at: Date): Promise<void> {
  await ex.run(sql`UPDATE scan_runs SET status = 'failed', finished_at = ${at.toISOString()}, error = ${error} WHERE id = ${id}`);
}
