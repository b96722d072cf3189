import { claimNoticeAttempt, findNotice, recordNoticeSent, releaseNoticeClaim } from '../store/notices.js';
import type { JobDeps } from './deps.js';

const reminderKinds = new Set(['remind-before', 'remind-after']);

export interface DeliveryResult {
  outcome: 'sent' | 'undeliverable' | 'already-sent' | 'unknown';
  /** The notice's subscription; null for an unknown Message-ID. */
  subscription: string | null;
}

/**
 * Sends one outbox notice unless it went already. The attempt is counted before the hand-off (in
 * the statement that finds the notice pending), so a crash between SMTP's acceptance and the
 * 'sent' mark shows as a second attempt: the only window in which a notice can be sent twice (and
 * its stable Message-ID makes that visible). That statement also claims the notice for as long as
 * a job's lock lasts: a second delivery meanwhile (the same job run again after its lock was lost,
 * while the first run still sends) throws to be retried, and its retry finds the notice sent; a
 * hand-off that fails lets go at once, and a crashed one's claim runs out with the job's lock.
 */
export async function deliverNotice(deps: JobDeps, messageId: string): Promise<DeliveryResult> {
  const claimedAt = deps.now();
  const notice = await claimNoticeAttempt(deps.store, messageId, claimedAt, new Date(claimedAt.getTime() + deps.config.jobLockMs));
  if (!notice) {
    // Not pending: sent, undeliverable (R10) or unknown. Statuses never go back to pending.
    const found = await findNotice(deps.store, messageId);
    const subscription = found?.subscription_id ?? null;
    if (!found) return { outcome: 'unknown', subscription };
    if (found.status === 'pending') {
      throw new Error(`notice ${messageId} is being handed to SMTP by another delivery (claimed until ${found.claimed_until ?? '?'}): tried again later`);
    }
    return { outcome: found.status === 'sent' ? 'already-sent' : 'undeliverable', subscription };
  }
  try {
    await deps.sendNotice(notice);
  } catch (error) {
    await releaseNoticeClaim(deps.store, notice).catch(() => undefined); // else it runs out
    throw error;
  }
  const at = deps.now();
  // The 'sent' mark, the reminder's ledger entry and the notice.sent event commit together; of two
  // deliveries racing, only the one whose conditional mark took writes the event.
  await recordNoticeSent(deps.store, notice, at, reminderKinds.has(notice.kind), {
    type: 'notice.sent',
    at,
    subscription: notice.subscription_id,
    partner: (JSON.parse(notice.data) as { partner: { id: string } }).partner.id,
    anniversary: notice.anniversary_on,
    detail: { notice: { kind: notice.kind, messageId: notice.message_id } },
  });
  return { outcome: 'sent', subscription: notice.subscription_id };
}
