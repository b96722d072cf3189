import { actionBits } from '../policy/due.js';
import { findDue } from '../scan/find-due.js';
import { listPendingNotices, recordAction, saveLifecycleState } from '../store/effects.js';
import { listUndeliveredEvents } from '../store/events.js';
import { PermanentError } from '../errors.js';
import type { JobDeps } from './deps.js';
import type { ScanJobData, ScanResult } from './payloads.js';
import { enqueueActions, requeuePendingNotices, requeueUndeliveredEvents, type ActionToEnqueue } from './queues.js';

const batchSize = 1_000;

/**
 * Works out what is due as of a day (today for the daily scan, never the firing time) and
 * enqueues the first due action of each subscription; the rest follow in cycle order as each
 * job completes. Actions whose range passed unrun are recorded as skipped, never sent late.
 */
export async function runScan(deps: JobDeps, job: ScanJobData): Promise<ScanResult> {
  const startedMs = performance.now();
  const seconds = () => (performance.now() - startedMs) / 1_000;
  try {
    const result = await scanAsOf(deps, job);
    deps.observer?.recordScan({ trigger: job.trigger, status: result.skipped ? 'skipped' : 'done', seconds: seconds(), result });
    return result;
  } catch (error) {
    deps.observer?.recordScan({ trigger: job.trigger, status: 'failed', seconds: seconds() });
    throw error;
  }
}

/**
 * Why a real scan as of `asOf` is refused, or null. A future day would run its jobs with
 * today's clock: they would record nothing and the real scan of that day would find them done.
 */
export function explainFutureScan(asOf: string, today: string): string | null {
  if (asOf <= today) return null;
  return `${asOf} is after today (${today}): a real scan runs as of today or a past day; list what a future day brings with --dry-run (or dryRun in the API), or time-lapse it with \`lifecycle simulate\``;
}

async function scanAsOf(deps: JobDeps, job: ScanJobData): Promise<ScanResult> {
  const { store } = deps;
  const asOf = job.trigger === 'daily' ? deps.today() : (job.asOf ?? deps.today());
  // The CLI and the API refuse it first; this guards any other producer.
  const refusal = explainFutureScan(asOf, deps.today());
  if (refusal) throw new PermanentError(refusal);
  const startedAt = deps.now().toISOString();
  const inserted = store.sqlite
    .prepare(
      `INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES (?, ?, 'running', ?)
       ON CONFLICT (as_of) WHERE "trigger" = 'daily' DO NOTHING`,
    )
    .run(asOf, job.trigger, startedAt);
  let scanId = Number(inserted.lastInsertRowid);
  if (inserted.changes === 0) {
    // One daily scan a day. One that failed or was killed midway runs again: every step of a
    // scan is idempotent (job ids, ledger keys), so finishing it twice adds nothing.
    const earlier = store.sqlite
      .prepare(`SELECT id, status FROM scan_runs WHERE as_of = ? AND "trigger" = 'daily'`)
      .get(asOf) as { id: number; status: string };
    if (earlier.status === 'done') {
      return { scanId: null, asOf, due: 0, enqueued: 0, missed: 0, redelivered: 0, skipped: `the daily scan of ${asOf} ran already` };
    }
    scanId = earlier.id;
    store.sqlite.prepare(`UPDATE scan_runs SET status = 'running', started_at = ?, error = NULL WHERE id = ?`).run(startedAt, scanId);
  }
  const result: ScanResult = { scanId, asOf, due: 0, enqueued: 0, missed: 0, redelivered: 0 };
  // One batch in Redis while the next is read from SQLite: otherwise Node and Redis take turns,
  // each idle while the other works (bench/e2e.ts). Batches still go out in order.
  let sending: Promise<void> = Promise.resolve();
  const send = async (jobs: ActionToEnqueue[]): Promise<void> => {
    const previous = sending;
    const next = enqueueActions(deps.queue, jobs).then(() => {
      result.enqueued += jobs.length;
    });
    // Awaited below or, when an earlier batch fails first, settled in the catch block.
    next.catch(() => undefined);
    sending = next;
    await previous;
  };
  try {
    let batch: ActionToEnqueue[] = [];
    let missed: { id: string; anniversary: string; actions: string[] }[] = [];
    const seen = new Set<string>();
    const recordMissed = () => {
      if (missed.length === 0) return;
      const at = deps.now();
      store.sqlite.transaction(() => {
        for (const { id, anniversary, actions } of missed) {
          for (const action of actions) {
            recordAction(store, {
              subscriptionId: id,
              action,
              anniversary,
              outcome: 'skipped:missed',
              effectiveOn: asOf,
              detail: `no scan ran while it was due (anniversary ${anniversary}); found by scan ${scanId}`,
              at,
            });
          }
        }
      })();
      missed = [];
    };
    for (const { subscription, due, missed: passed } of findDue(store, asOf)) {
      if (seen.has(subscription.id)) continue;
      if (passed.length > 0) {
        seen.add(subscription.id);
        missed.push({ id: subscription.id, anniversary: subscription.anniversaryOn, actions: passed });
        const mask = passed.reduce((m, a) => m | actionBits[a], subscription.doneMask);
        saveLifecycleState(store, { ...subscription, doneMask: mask }, deps.now());
        result.missed += passed.length;
      }
      if (due.length > 0) {
        result.due += due.length;
        batch.push({ action: due[0]!, data: { subscription: subscription.id, anniversary: subscription.anniversaryOn, foundOn: asOf } });
      }
      if (batch.length >= batchSize) {
        recordMissed();
        await send(batch);
        batch = [];
      }
    }
    recordMissed();
    await send(batch);
    await sending;
    // The outbox's safety net: a notice whose delivery job was lost (Redis lost its data) goes again.
    result.redelivered = await requeuePendingNotices(deps.queue, listPendingNotices(store));
    if (deps.config.eventsWebhookUrl) await requeueUndeliveredEvents(deps.queue, deps.config, listUndeliveredEvents(store));
    store.sqlite
      .prepare(`UPDATE scan_runs SET status = 'done', finished_at = ?, due_count = ?, enqueued_count = ?, missed_count = ? WHERE id = ?`)
      .run(deps.now().toISOString(), result.due, result.enqueued, result.missed, scanId);
    return result;
  } catch (error) {
    await sending.catch(() => undefined);
    store.sqlite
      .prepare(`UPDATE scan_runs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?`)
      .run(deps.now().toISOString(), (error as Error).message, scanId);
    throw error;
  }
}
