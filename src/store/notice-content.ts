import { sql } from 'drizzle-orm';
import type { NoticeData } from '../mail/types.js';
import type { Executor } from './executor.js';

/** A notice's content as fixed when its action took effect (the outbox row's `data`), or null. */
export async function readNoticeContent(ex: Executor, messageId: string): Promise<{ subscriptionId: string; data: NoticeData } | null> {
  const row = await ex.get<{ subscription_id: string; data: string }>(sql`SELECT subscription_id, data FROM notices WHERE message_id = ${messageId}`);
  return row ? { subscriptionId: row.subscription_id, data: JSON.parse(row.data) as NoticeData } : null;
}
