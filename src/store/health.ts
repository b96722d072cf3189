import { sql } from 'drizzle-orm';
import type { Executor } from './executor.js';

/** The cheapest round trip: the database answers (`GET /healthz`). */
export async function pingDatabase(ex: Executor): Promise<void> {
  await ex.get(sql`SELECT 1 AS one`);
}
