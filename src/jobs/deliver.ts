import type Database from 'better-sqlite3';
import type { NoticeRow } from '../store/effects.js';
import { recordEvent } from '../store/events.js';
import type { JobDeps } from './deps.js';

const reminderKinds = new Set(['remind-before', 'remind-after']);

interface DeliveryStatements {
  findNotice: Database.Statement<[string], NoticeRow>;
  countAttempt: Database.Statement<[number]>;
  markSent: (at: string, notice: NoticeRow) => void;
}

// Prepared once per connection: preparing a statement costs more than running these one-row
// statements, and every delivery runs four of them (bench/e2e.ts).
const statementsByConnection = new WeakMap<Database.Database, DeliveryStatements>();

function prepareStatements(sqlite: Database.Database): DeliveryStatements {
  let statements = statementsByConnection.get(sqlite);
  if (statements) return statements;
  const markNoticeSent = sqlite.prepare<[string, number]>("UPDATE notices SET status = 'sent', sent_at = ? WHERE id = ?");
  // The reminder's ledger entry moves from 'sending' to 'sent' with its notice (effects.ts updateActionOutcome).
  const markActionSent = sqlite.prepare<[string, string, string, string]>(
    "UPDATE actions SET outcome = 'sent' WHERE subscription_id = ? AND action = ? AND anniversary_on = ? AND outcome = ?",
  );
  statements = {
    findNotice: sqlite.prepare<[string], NoticeRow>('SELECT * FROM notices WHERE message_id = ?'),
    countAttempt: sqlite.prepare<[number]>('UPDATE notices SET attempts = attempts + 1 WHERE id = ?'),
    markSent: sqlite.transaction((at: string, notice: NoticeRow) => {
      markNoticeSent.run(at, notice.id);
      if (reminderKinds.has(notice.kind)) markActionSent.run(notice.subscription_id, notice.kind, notice.anniversary_on, 'sending');
    }),
  };
  statementsByConnection.set(sqlite, statements);
  return statements;
}

/**
 * Sends one outbox notice unless it went already. The attempt is counted before the hand-off,
 * so a crash between SMTP's acceptance and the 'sent' mark shows as a second attempt: the only
 * window in which a notice can be sent twice (and its stable Message-ID makes that visible).
 */
export async function deliverNotice(deps: JobDeps, messageId: string): Promise<'sent' | 'undeliverable' | 'already-sent' | 'unknown'> {
  const statements = prepareStatements(deps.store.sqlite);
  const notice = statements.findNotice.get(messageId);
  if (!notice) return 'unknown';
  if (notice.status === 'sent') return 'already-sent';
  if (notice.status === 'undeliverable') return 'undeliverable';
  statements.countAttempt.run(notice.id);
  await deps.sendNotice(notice);
  const at = deps.now();
  // The notice.sent event commits with the 'sent' mark (a nested transaction is a savepoint).
  deps.store.sqlite.transaction(() => {
    statements.markSent(at.toISOString(), notice);
    recordEvent(deps.store, {
      type: 'notice.sent',
      at,
      subscription: notice.subscription_id,
      partner: (JSON.parse(notice.data) as { partner: { id: string } }).partner.id,
      anniversary: notice.anniversary_on,
      detail: { notice: { kind: notice.kind, messageId: notice.message_id } },
    });
  })();
  return 'sent';
}
