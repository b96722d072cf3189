import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from './executor.js';

/**
 * The values of an `IN` as one bound JSON array: one statement text (compiled and prepared once)
 * whatever the list's length, and no bound on parameters. drizzle builds a fragment per bound
 * value otherwise, which costs more than the query for a batch of events.
 */
export function listOf(ex: Executor, values: readonly (string | number)[], type: 'text' | 'bigint'): SQL {
  const json = JSON.stringify(values);
  if (ex.dialect === 'sqlite') return sql`(SELECT value FROM json_each(${json}))`;
  return type === 'text'
    ? sql`(SELECT jsonb_array_elements_text(CAST(${json} AS jsonb)))`
    : sql`(SELECT CAST(jsonb_array_elements_text(CAST(${json} AS jsonb)) AS bigint))`;
}
