import { updateActionOutcome, findNotice } from '../store/effects.js';
import type { JobDeps } from './deps.js';

const reminderKinds = new Set(['remind-before', 'remind-after']);

/**
 * Sends one outbox notice unless it went already. The attempt is counted before the hand-off,
 * so a crash between SMTP's acceptance and the 'sent' mark shows as a second attempt: the only
 * window in which a notice can be sent twice (and its stable Message-ID makes that visible).
 */
export async function deliverNotice(deps: JobDeps, messageId: string): Promise<'sent' | 'undeliverable' | 'already-sent' | 'unknown'> {
  const notice = findNotice(deps.store, messageId);
  if (!notice) return 'unknown';
  if (notice.status === 'sent') return 'already-sent';
  if (notice.status === 'undeliverable') return 'undeliverable';
  deps.store.sqlite.prepare('UPDATE notices SET attempts = attempts + 1 WHERE id = ?').run(notice.id);
  await deps.sendNotice(notice);
  const at = deps.now().toISOString();
  deps.store.sqlite.transaction(() => {
    deps.store.sqlite.prepare("UPDATE notices SET status = 'sent', sent_at = ? WHERE id = ?").run(at, notice.id);
    if (reminderKinds.has(notice.kind)) {
      updateActionOutcome(deps.store, notice.subscription_id, notice.kind, notice.anniversary_on, 'sending', 'sent');
    }
  })();
  return 'sent';
}
