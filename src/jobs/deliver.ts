import { recordEvent } from '../store/events.js';
import { markReminderSent } from '../store/ledger.js';
import { countNoticeAttempt, findNotice, markNoticeSent } from '../store/notices.js';
import type { JobDeps } from './deps.js';

const reminderKinds = new Set(['remind-before', 'remind-after']);

/**
 * Sends one outbox notice unless it went already. The attempt is counted before the hand-off,
 * so a crash between SMTP's acceptance and the 'sent' mark shows as a second attempt: the only
 * window in which a notice can be sent twice (and its stable Message-ID makes that visible).
 */
export async function deliverNotice(deps: JobDeps, messageId: string): Promise<'sent' | 'undeliverable' | 'already-sent' | 'unknown'> {
  const notice = await findNotice(deps.store, messageId);
  if (!notice) return 'unknown';
  if (notice.status === 'sent') return 'already-sent';
  if (notice.status === 'undeliverable') return 'undeliverable';
  await countNoticeAttempt(deps.store, notice.id);
  await deps.sendNotice(notice);
  const at = deps.now();
  // The 'sent' mark, the reminder's ledger entry and the notice.sent event commit together; of two
  // deliveries racing, only the one whose conditional mark took writes the event.
  await deps.store.transaction(async (tx) => {
    if (!(await markNoticeSent(tx, notice.id, at))) return;
    if (reminderKinds.has(notice.kind)) await markReminderSent(tx, notice.subscription_id, notice.kind, notice.anniversary_on);
    await recordEvent(tx, {
      type: 'notice.sent',
      at,
      subscription: notice.subscription_id,
      partner: (JSON.parse(notice.data) as { partner: { id: string } }).partner.id,
      anniversary: notice.anniversary_on,
      detail: { notice: { kind: notice.kind, messageId: notice.message_id } },
    });
  });
  return 'sent';
}
