import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';
import { openQueues } from '../queue-client.js';
import { cliConnectTimeoutMs, describeRedisUrl } from '../../redis/connect.js';
import { withDeadline } from '../../redis/deadline.js';
import { redact, redactValue } from '../../redact.js';
import { countEventsByStatus } from '../../store/events.js';

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
      const { sqlite } = context.existingStore;
      const scans = sqlite
        .prepare(
          `SELECT id, as_of AS asOf, "trigger", status, started_at AS startedAt, finished_at AS finishedAt, due_count AS due,
             enqueued_count AS enqueued, missed_count AS missed, error FROM scan_runs ORDER BY id DESC LIMIT 10`,
        )
        .all()
        .map(redactValue);
      const undeliverable = sqlite
        .prepare(
          `SELECT subscription_id AS subscription, kind, anniversary_on AS anniversary, created_at AS at FROM notices
           WHERE status = 'undeliverable' ORDER BY id DESC LIMIT 50`,
        )
        .all();
      const counts = sqlite
        .prepare(`SELECT status, COUNT(*) AS n FROM notices GROUP BY status`)
        .all() as { status: string; n: number }[];
      const subscriptions = sqlite.prepare(`SELECT status, COUNT(*) AS n FROM subscriptions GROUP BY status`).all() as { status: string; n: number }[];
      const queues = await readQueues(context);
      const events = await readEventDelivery(context);
      const report = {
        subscriptions: Object.fromEntries(subscriptions.map((r) => [r.status, r.n])),
        notices: Object.fromEntries(counts.map((r) => [r.status, r.n])),
        queues,
        recentScans: scans,
        undeliverable,
        events,
      };
      if (options.json) return printJson(report);
      const out: string[] = [];
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
      for (const s of scans as { id: number; asOf: string; trigger: string; status: string; due: number; enqueued: number; missed: number; startedAt: string; error: string | null }[]) {
        out.push(`  #${s.id} ${s.asOf} ${s.trigger.padEnd(8)} ${s.status.padEnd(7)} due ${s.due}, enqueued ${s.enqueued}, missed ${s.missed}  (${s.startedAt})${s.error ? `  ${s.error}` : ''}`);
      }
      if (scans.length === 0) out.push('  none yet');
      out.push('undeliverable notices (no contact with a purchasing role, R10)');
      for (const n of undeliverable as { subscription: string; kind: string; anniversary: string }[]) out.push(`  ${n.subscription}  ${n.kind}  cycle ${n.anniversary}`);
      if (undeliverable.length === 0) out.push('  none');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

const eventStates = ['pending', 'delivered', 'failed'] as const;

/** Event delivery counts and the latest failures; a database from before events has none. */
async function readEventDelivery(context: CliContext) {
  const isDelivered = context.config.eventsWebhookUrl !== null;
  try {
    const failed = context.existingStore.sqlite
      .prepare(
        `SELECT id, type, subscription_id AS subscription, attempts, last_error AS lastError FROM events
         WHERE status = 'failed' ORDER BY id DESC LIMIT 10`,
      )
      .all() as { id: number; type: string; subscription: string | null; attempts: number; lastError: string | null }[];
    return { isDelivered, counts: await countEventsByStatus(context.existingStore), failed: failed.map(redactValue) };
  } catch {
    return { isDelivered, counts: { pending: 0, delivered: 0, failed: 0 }, failed: [] };
  }
}
