import { findMissedActions } from '../policy/due.js';
import { markAllDone } from '../policy/transitions.js';
import { findDue } from '../scan/find-due.js';
import type { Subscription } from '../policy/types.js';
import { saveLifecycleStates } from '../store/effects.js';
import { findLastEventId, listUndeliveredEvents } from '../store/events.js';
import { claimLedgerKeys, type ActionEntry } from '../store/ledger.js';
import { listPendingNotices } from '../store/notices.js';
import { lockSubscriptions } from '../store/queries.js';
import { failScanRun, finishScanRun, recordScanHeartbeat, startScanRun } from '../store/scan-runs.js';
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
/**
 * The outboxes' safety net, run by every scan and at every daemon start: a notice or event whose
 * job was lost (Redis lost its data, or a kill came between the commit and the enqueue) goes
 * again now rather than at the next daily scan. Returns the notices requeued.
 */
export async function requeueUndelivered(deps: Pick<JobDeps, 'store' | 'queue' | 'config'>, lastEventId?: number): Promise<number> {
  const redelivered = await requeuePendingNotices(deps.queue, await listPendingNotices(deps.store));
  if (deps.config.eventsWebhookUrl) await requeueUndeliveredEvents(deps.queue, deps.config, await listUndeliveredEvents(deps.store, lastEventId));
  return redelivered;
}

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
  // A daily scan whose heartbeat is older than two job locks died with its process: it may be taken over.
  const heartbeatMs = deps.config.jobLockMs / 2;
  const startedAt = deps.now();
  const scanId = await startScanRun(store, asOf, job.trigger, startedAt, new Date(startedAt.getTime() - 4 * heartbeatMs));
  if (scanId === 'done' || scanId === 'running') {
    const skipped = scanId === 'done' ? `the daily scan of ${asOf} ran already` : `the daily scan of ${asOf} is running (started by this or another daemon)`;
    return { scanId: null, asOf, due: 0, enqueued: 0, missed: 0, redelivered: 0, skipped };
  }
  let lastHeartbeatMs = startedAt.getTime();
  const beat = async (): Promise<void> => {
    const now = deps.now();
    if (now.getTime() - lastHeartbeatMs < heartbeatMs) return;
    lastHeartbeatMs = now.getTime();
    await recordScanHeartbeat(store, scanId, now);
  };
  const result: ScanResult = { scanId, asOf, due: 0, enqueued: 0, missed: 0, redelivered: 0 };
  // The safety net at the end looks only at events older than this scan: the jobs it enqueues write
  // events of their own meanwhile, which their processes queue once committed.
  const lastEventId = deps.config.eventsWebhookUrl ? await findLastEventId(store) : undefined;
  // One batch in Redis while the next is read from the database: otherwise Node and Redis take turns,
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
    let missed: string[] = [];
    const seen = new Set<string>();
    // A subscription's mask commits with the skipped:missed entries that explain it, in one
    // transaction per batch, on the rows as they are then (a job may have changed them since the
    // read): the batch's rows locked, its ledger keys claimed and its masks saved in one statement
    // each on PostgreSQL, not three round trips a row.
    const recordMissed = async () => {
      if (missed.length === 0) return;
      const ids = missed;
      missed = [];
      const at = deps.now();
      result.missed += await store.transaction(async (tx) => {
        const locked = new Map((await lockSubscriptions(tx, ids)).map((subscription) => [subscription.id, subscription]));
        const entries: ActionEntry[] = [];
        const marked: Subscription[] = [];
        for (const id of ids) {
          const subscription = locked.get(id);
          const passed = subscription ? findMissedActions(subscription, asOf) : [];
          if (!subscription || passed.length === 0) continue;
          for (const action of passed) {
            entries.push({
              subscriptionId: id,
              action,
              anniversary: subscription.anniversaryOn,
              outcome: 'skipped:missed',
              effectiveOn: asOf,
              detail: `no scan ran while it was due (anniversary ${subscription.anniversaryOn}); found by scan ${scanId}`,
              at,
            });
          }
          marked.push(markAllDone(subscription, passed));
        }
        await claimLedgerKeys(tx, entries);
        await saveLifecycleStates(tx, marked, at);
        return entries.length;
      });
    };
    for await (const { subscription, due, missed: passed } of findDue(store, asOf)) {
      if (seen.has(subscription.id)) continue;
      if (passed.length > 0) {
        seen.add(subscription.id);
        missed.push(subscription.id);
      }
      if (due.length > 0) {
        result.due += due.length;
        batch.push({ action: due[0]!, data: { subscription: subscription.id, anniversary: subscription.anniversaryOn, foundOn: asOf } });
      }
      if (batch.length >= batchSize) {
        await recordMissed();
        await send(batch);
        batch = [];
        await beat();
      }
    }
    await recordMissed();
    await send(batch);
    await sending;
    result.redelivered = await requeueUndelivered(deps, lastEventId);
    await finishScanRun(store, scanId, result, deps.now());
    return result;
  } catch (error) {
    await sending.catch(() => undefined);
    await failScanRun(store, scanId, (error as Error).message, deps.now());
    throw error;
  }
}
