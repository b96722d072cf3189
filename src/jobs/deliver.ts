import { claimNoticeAttempt, findNotice, recordNoticeSent } from '../store/notices.js';
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
 * its stable Message-ID makes that visible).
 */
export async function deliverNotice(deps: JobDeps, messageId: string): Promise<DeliveryResult> {
  const notice = await claimNoticeAttempt(deps.store, messageId);
  if (!notice) {
    // Not pending: sent, undeliverable (R10) or unknown. Statuses never go back to pending.
    const found = await findNotice(deps.store, messageId);
    const subscription = found?.subscription_id ?? null;
    if (!found) return { outcome: 'unknown', subscription };
    return { outcome: found.status === 'sent' ? 'already-sent' : 'undeliverable', subscription };
  }
  await deps.sendNotice(notice);
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
