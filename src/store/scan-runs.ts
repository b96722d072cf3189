import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

export interface ScanCounts {
  due: number;
  enqueued: number;
  missed: number;
}

/**
 * Records a scan starting: its id, or why the daily scan of that day does not run again — `done`,
 * or `running` elsewhere (its heartbeat newer than `staleBefore`). One daily scan a day: the
 * partial unique key claims the day, and the UPDATE's condition decides who takes over a failed
 * scan or one whose process died (its heartbeat stopped), on PostgreSQL as on SQLite. Finishing a
 * scan twice adds nothing (job ids, ledger keys), so a takeover is safe, only not free.
 */
export async function startScanRun(ex: Executor, asOf: string, trigger: string, at: Date, staleBefore: Date): Promise<number | 'done' | 'running'> {
  const startedAt = at.toISOString();
  const inserted = await ex.get<{ id: number }>(sql`
    INSERT INTO scan_runs (as_of, "trigger", status, started_at, heartbeat_at) VALUES (${asOf}, ${trigger}, 'running', ${startedAt}, ${startedAt})
    ON CONFLICT (as_of) WHERE "trigger" = 'daily' DO NOTHING
    RETURNING id`);
  if (inserted) return inserted.id;
  const resumed = await ex.get<{ id: number }>(sql`
    UPDATE scan_runs SET status = 'running', started_at = ${startedAt}, heartbeat_at = ${startedAt}, error = NULL
    WHERE as_of = ${asOf} AND "trigger" = 'daily' AND status <> 'done'
      AND (status <> 'running' OR heartbeat_at IS NULL OR heartbeat_at < ${staleBefore.toISOString()})
    RETURNING id`);
  if (resumed) return resumed.id;
  const current = await ex.get<{ status: string }>(sql`SELECT status FROM scan_runs WHERE as_of = ${asOf} AND "trigger" = 'daily'`);
  return current?.status === 'done' ? 'done' : 'running';
}

/** A running scan says it is alive (see startScanRun). */
export async function recordScanHeartbeat(ex: Executor, id: number, at: Date): Promise<void> {
  await ex.run(sql`UPDATE scan_runs SET heartbeat_at = ${at.toISOString()} WHERE id = ${id} AND status = 'running'`);
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
