import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';
import { openQueues } from '../queue-client.js';
import { cliConnectTimeoutMs, describeRedisUrl } from '../../redis/connect.js';
import { withDeadline } from '../../redis/deadline.js';
import { redact, redactValue } from '../../redact.js';
import { listFailedEvents } from '../../store/event-feed.js';
import { countEventsByStatus } from '../../store/events.js';
import { countNoticesByStatus, countSubscriptionsByStatus, listRecentScanRuns, listUndeliverableNotices } from '../../store/reports.js';

const states = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** Bounded: an unreachable or wrongly authenticated Redis is a line of the report, not a hang. */
async function readQueues(context: CliContext) {
  try {
    const { actions, scans } = openQueues(context);
    const [actionCounts, scanCounts, failed] = await withDeadline(
      Promise.all([actions.getJobCounts(...states), scans.getJobCounts(...states), actions.getFailed(0, 49)]),
      cliConnectTimeoutMs + 1_000,
    );
    return {
      reachable: true as const,
      actions: actionCounts,
      scans: scanCounts,
      failedJobs: failed.map((job) => ({ id: job.id, name: job.name, attempts: job.attemptsMade, reason: redact(job.failedReason ?? ''), data: redactValue(job.data) })),
    };
  } catch (error) {
    const where = context.config.redisUrl ? `Redis at ${describeRedisUrl(context.config.redisUrl)}: ` : '';
    return { reachable: false as const, error: redact(`${where}${(error as Error).message}`) };
  }
}

export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('queue counts, recent scans, failed jobs, undeliverable and pending notices, event deliveries')
    .option('--json', 'print one JSON document')
    .action(async (options: { json?: boolean }) => {
      const store = await context.existingStore();
      const scans = (await listRecentScanRuns(store, 10)).map(redactValue);
      const undeliverable = (await listUndeliverableNotices(store, 50)).map(({ subscription, kind, anniversary, at }) => ({ subscription, kind, anniversary, at }));
      const notices = await countNoticesByStatus(store);
      const subscriptions = await countSubscriptionsByStatus(store);
      const queues = await readQueues(context);
      const events = await readEventDelivery(context);
      const report = {
        store: store.location,
        subscriptions,
        notices,
        queues,
        recentScans: scans,
        undeliverable,
        events,
      };
      if (options.json) return printJson(report);
      const out: string[] = [];
      out.push(`store          ${report.store}`);
      out.push(`subscriptions  ${Object.entries(report.subscriptions).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
      out.push(`notices        ${Object.entries(report.notices).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
      const delivery = eventStates.map((state) => `${state} ${events.counts[state]}`).join(', ');
      out.push(`events         ${delivery}${events.isDelivered ? '' : '  (EVENTS_WEBHOOK_URL unset: served by GET /api/events only)'}`);
      for (const e of events.failed) out.push(`  failed  #${e.id} ${e.type} ${e.subscription ?? ''} after ${e.attempts} attempts: ${e.lastError ?? ''}`);
      if (queues.reachable) {
        const fmt = (c: Record<string, number>) => states.map((s) => `${s} ${c[s] ?? 0}`).join(', ');
        out.push(`queue actions  ${fmt(queues.actions)}`);
        out.push(`queue scans    ${fmt(queues.scans)}`);
        for (const job of queues.failedJobs) out.push(`  failed  ${job.id}  after ${job.attempts} attempts: ${job.reason}`);
      } else out.push(`queues         unreachable: ${queues.error}`);
      out.push('recent scans');
      for (const s of scans) {
        out.push(`  #${s.id} ${s.asOf} ${s.trigger.padEnd(8)} ${s.status.padEnd(7)} due ${s.due}, enqueued ${s.enqueued}, missed ${s.missed}  (${s.startedAt})${s.error ? `  ${s.error}` : ''}`);
      }
      if (scans.length === 0) out.push('  none yet');
      out.push('undeliverable notices (no contact with a purchasing role, R10)');
      for (const n of undeliverable) out.push(`  ${n.subscription}  ${n.kind}  cycle ${n.anniversary}`);
      if (undeliverable.length === 0) out.push('  none');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

const eventStates = ['pending', 'delivered', 'failed'] as const;

/** Event delivery counts and the latest failures; a database from before events has none. */
async function readEventDelivery(context: CliContext) {
  const isDelivered = context.config.eventsWebhookUrl !== null;
  try {
    const failed = await listFailedEvents((await context.existingStore()), 10);
    return { isDelivered, counts: await countEventsByStatus((await context.existingStore())), failed: failed.map(redactValue) };
  } catch {
    return { isDelivered, counts: { pending: 0, delivered: 0, failed: 0 }, failed: [] };
  }
}
