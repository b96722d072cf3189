import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isPermanentError } from '../errors.js';
import type { JobObserver } from '../jobs/observer.js';
import type { Queues } from '../jobs/queues.js';

export const queueStates = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** Prometheus metrics of one process (README "Admin API and console" lists them). */
export interface Metrics extends JobObserver {
  readonly registry: Registry;
  /** Queue depths are read from Redis when /metrics is scraped, not counted along the way. */
  watchQueues(queues: Queues): void;
}

/**
 * One registry per process (per runtime in tests), never prom-client's global one, so several
 * runtimes in one process do not collide.
 */
export function createMetrics(options: { withProcessMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'lifecycle_' });
  const registers = [registry];
  const scans = new Counter({
    name: 'lifecycle_scans_total',
    help: 'Scans run by this process, by trigger (daily, operator, simulate) and status (done, skipped, failed)',
    labelNames: ['trigger', 'status'] as const,
    registers,
  });
  const scanDuration = new Histogram({
    name: 'lifecycle_scan_duration_seconds',
    help: 'How long a scan took, enqueueing included',
    labelNames: ['trigger'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });
  const scanActions = new Counter({
    name: 'lifecycle_scan_actions_total',
    help: 'Actions scans found: due, enqueued (the first due of each subscription), missed (recorded as skipped:missed)',
    labelNames: ['result'] as const,
    registers,
  });
  const actions = new Counter({
    name: 'lifecycle_actions_total',
    help: 'Lifecycle action jobs by action and outcome; an action already in the ledger is not counted again on retry',
    labelNames: ['action', 'outcome'] as const,
    registers,
  });
  const sent = new Counter({
    name: 'lifecycle_messages_sent_total',
    help: 'Notices handed to SMTP (or written to the outbox dir), by kind',
    labelNames: ['kind'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'lifecycle_messages_failed_total',
    help: 'Failed deliveries by kind and whether a retry can help (transient) or not (permanent)',
    labelNames: ['kind', 'reason'] as const,
    registers,
  });
  const lapses = new Counter({ name: 'lifecycle_lapses_total', help: 'Subscriptions lapsed (R5)', registers });
  const renewals = new Counter({
    name: 'lifecycle_renewals_total',
    help: 'Renewals that took effect, by source (auto-renew, operator, payment-confirmed) and outcome (renewed, reactivated)',
    labelNames: ['source', 'outcome'] as const,
    registers,
  });
  const watched: Queues[] = [];
  new Gauge({
    name: 'lifecycle_queue_jobs',
    help: 'Jobs in each queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      for (const queues of watched) {
        for (const queue of [queues.actions, queues.scans]) {
          // Redis down: the depths are left out of this scrape; /healthz says why.
          const counts = await queue.getJobCounts(...queueStates).catch(() => null);
          for (const state of queueStates) if (counts) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      }
    },
  });
  return {
    registry,
    watchQueues(queues) {
      watched.push(queues);
    },
    recordScan({ trigger, status, seconds, result }) {
      scans.inc({ trigger, status });
      scanDuration.observe({ trigger }, seconds);
      if (status !== 'done' || !result) return;
      scanActions.inc({ result: 'due' }, result.due);
      scanActions.inc({ result: 'enqueued' }, result.enqueued);
      scanActions.inc({ result: 'missed' }, result.missed);
    },
    recordAction(action, outcome) {
      actions.inc({ action, outcome });
      if (action === 'lapse' && outcome === 'lapsed') lapses.inc();
      if (action === 'auto-renew' && outcome === 'renewed') renewals.inc({ source: 'auto-renew', outcome: 'renewed' });
    },
    recordDelivery(kind, error) {
      if (!error) sent.inc({ kind });
      else failed.inc({ kind, reason: isPermanentError(error) ? 'permanent' : 'transient' });
    },
    recordRenewal(source, outcome) {
      renewals.inc({ source, outcome });
    },
  };
}
