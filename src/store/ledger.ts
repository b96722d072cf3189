import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

/** The `actions` table: each (subscription, action, anniversary) takes effect at most once. */
export interface ActionEntry {
  subscriptionId: string;
  action: string;
  anniversary: string;
  outcome: string;
  effectiveOn: string;
  detail?: string | null;
  jobId?: string | null;
  at: Date;
}

/**
 * Claims the ledger key (subscription, action, anniversary) with its outcome; false when it was
 * taken already. The unique key decides on both backends, concurrent transactions included.
 */
export async function claimLedgerKey(ex: Executor, entry: ActionEntry): Promise<boolean> {
  const inserted = await ex.run(sql`
    INSERT INTO actions (subscription_id, action, anniversary_on, outcome, effective_on, detail, job_id, recorded_at)
    VALUES (${entry.subscriptionId}, ${entry.action}, ${entry.anniversary}, ${entry.outcome}, ${entry.effectiveOn},
      ${entry.detail ?? null}, ${entry.jobId ?? null}, ${entry.at.toISOString()})
    ON CONFLICT (subscription_id, action, anniversary_on) DO NOTHING`);
  return inserted === 1;
}

/**
 * claimLedgerKey for each of `entries` (a scan's batch of missed actions); returns how many keys
 * were free. PostgreSQL: one statement for the batch, the rows passed as one JSON parameter, the
 * unique key deciding row by row as it does for one. SQLite: one statement each, in-process.
 */
export async function claimLedgerKeys(ex: Executor, entries: readonly ActionEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  if (ex.dialect === 'sqlite') {
    let claimed = 0;
    for (const entry of entries) if (await claimLedgerKey(ex, entry)) claimed += 1;
    return claimed;
  }
  const rows = JSON.stringify(
    entries.map((entry) => ({
      subscription_id: entry.subscriptionId,
      action: entry.action,
      anniversary_on: entry.anniversary,
      outcome: entry.outcome,
      effective_on: entry.effectiveOn,
      detail: entry.detail ?? null,
      job_id: entry.jobId ?? null,
      recorded_at: entry.at.toISOString(),
    })),
  );
  return ex.run(sql`
    INSERT INTO actions (subscription_id, action, anniversary_on, outcome, effective_on, detail, job_id, recorded_at)
    SELECT subscription_id, action, anniversary_on, outcome, effective_on, detail, job_id, recorded_at
    FROM json_populate_recordset(NULL::actions, CAST(${rows} AS json)) WITH ORDINALITY AS entry ORDER BY ordinality
    ON CONFLICT (subscription_id, action, anniversary_on) DO NOTHING`);
}

/** The outcome recorded under the ledger key, or null while it is free. */
export async function findLedgerOutcome(ex: Executor, subscriptionId: string, action: string, anniversary: string): Promise<string | null> {
  const row = await ex.get<{ outcome: string }>(sql`
    SELECT outcome FROM actions WHERE subscription_id = ${subscriptionId} AND action = ${action} AND anniversary_on = ${anniversary}`);
  return row?.outcome ?? null;
}

/** A reminder's entry moves from `sending` to `sent` with its notice. */
export async function markReminderSent(ex: Executor, subscriptionId: string, action: string, anniversary: string): Promise<void> {
  await ex.run(sql`
    UPDATE actions SET outcome = 'sent'
    WHERE subscription_id = ${subscriptionId} AND action = ${action} AND anniversary_on = ${anniversary} AND outcome = 'sending'`);
}
