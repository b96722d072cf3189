import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { World } from './world.js';

/**
 * `count` pending events written as a job's transaction writes them, committed, ids starting with
 * `prefix` in feed order (`evt_<prefix>0000…`); no job is queued for them. Returns their ids.
 */
export async function writePendingEvents(w: World, count: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `evt_${prefix}${String(i).padStart(4, '0')}${randomBytes(4).toString('hex')}`);
  for (const id of ids) {
    await w.store.run(sql`
      INSERT INTO events (event_id, type, occurred_at, subscription_id, partner_id, data, status, attempts)
      VALUES (${id}, 'subscription.lapsed', ${new Date().toISOString()}, 'S-1', 'P-1', '{"subscription":"S-1"}', 'pending', 0)`);
  }
  return ids;
}
