/**
 * Fault injection: a season of simulated days processed by worker child processes that are
 * killed with SIGKILL at random, on a Redis that is killed with SIGKILL and restarted, with the
 * SMTP server down for a stretch of days; then the ledger and the outbox are reconciled against
 * what the SMTP sink received, by Message-ID, and against a pure policy replay of the season.
 *
 *   node --import tsx bench/fault.ts [--subscriptions 10000] [--days 120] [--daemon-kills 50]
 *                                    [--redis-kills 20] [--smtp-down-days 5] [--workers 2]
 *                                    [--seed 1] [--database sqlite|postgres] [--json] [--keep]
 *
 * The harness (this process) owns the store (a SQLite file, or with `--database postgres` a
 * database of its own on the server TEST_DATABASE_URL names, created and dropped here; the
 * workers then reach it through DATABASE_URL, as daemons on several hosts do), the redis-server
 * child (AOF on, appendfsync always: a SIGKILL loses nothing acknowledged), the SMTP sink (in process, recording each
 * message's Message-ID and arrival time) and the day file. Each day it writes the day file, runs
 * the scan for that day (runScan through a producer runtime on the workers' queue prefix), and
 * waits until the actions queue is idle while killing and restarting workers and Redis at random
 * moments. Exit status 1 when a notice was lost, one was sent twice outside the SMTP
 * acknowledgement window, or the ledger disagrees with the replay.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { importFile } from '../src/import/import-file.js';
import { waitUntilIdle } from '../src/jobs/queues.js';
import { runScan } from '../src/jobs/scan.js';
import { addDays } from '../src/policy/dates.js';
import type { Partner, Subscription } from '../src/policy/types.js';
import { startRuntime, type Runtime } from '../src/runtime.js';
import { connectStore, databaseFile } from '../src/store/db.js';
import type { Dialect, Store } from '../src/store/executor.js';
import { findPartner } from '../src/store/queries.js';
import { toSubscription, type SubscriptionRow } from '../src/store/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createRandom, writeDatasetFile } from './lib/dataset.js';
import { formatCount, readCount } from './lib/measure.js';
import { startBenchRedis, type BenchRedis } from './lib/redis-server.js';
import { actionKey, replaySeason } from './lib/replay.js';
import { startSmtpSink, type SmtpSink } from './lib/smtp-sink.js';

export interface FaultInjectionOptions {
  /** @defaultValue 10,000 */
  subscriptions?: number;
  /** Simulated days with faults. @defaultValue 120 */
  days?: number;
  /** Quiet days after the season (no faults) for retries to finish; replayed like the others. @defaultValue 3 */
  drainDays?: number;
  /** SIGKILLs of worker processes, spread at random over the season. @defaultValue 50 */
  daemonKills?: number;
  /** SIGKILLs of redis-server (each followed by a restart on the same port). @defaultValue 20 */
  redisKills?: number;
  /** Consecutive days the SMTP server is down, from a third into the season. @defaultValue 5 */
  smtpDownDays?: number;
  /** Worker child processes running at once. @defaultValue 2 */
  workers?: number;
  /** WORKER_CONCURRENCY of each. @defaultValue 4 */
  concurrency?: number;
  /** JOB_LOCK_MS: a killed worker's jobs come back after it. @defaultValue 1000 */
  jobLockMs?: number;
  /** JOB_BACKOFF_MS: first retry delay, doubled each attempt (8 attempts). @defaultValue 25 */
  jobBackoffMs?: number;
  /** The first simulated day. @defaultValue 2025-03-01 */
  startDay?: string;
  /** Seeds the data set and the fault schedule. @defaultValue 1 */
  seed?: number;
  /** The store: a SQLite file in the temp dir, or a PostgreSQL database of its own. @defaultValue sqlite */
  database?: Dialect;
  /** A day that has not gone idle by then is given up (and reported). @defaultValue 180,000 */
  dayTimeoutMs?: number;
  /** Progress lines. @defaultValue none */
  onProgress?: (line: string) => void;
  /** Keep the temp dir (database, Redis AOF, worker logs). @defaultValue false */
  keep?: boolean;
}

export interface FaultReport {
  options: Required<Omit<FaultInjectionOptions, 'onProgress' | 'keep'>>;
  dir: string | null;
  seconds: number;
  faults: {
    daemonKills: number;
    redisKills: number;
    smtpDown: { from: string; to: string } | null;
    /** Worker exits nobody asked for (a crash of its own): each one is a finding. */
    unexpectedWorkerExits: number;
    scanRetries: number;
    stuckDays: string[];
  };
  notices: {
    /** Notices with someone to receive them (status sent or pending). */
    expected: number;
    received: number;
    /** Expected but never received, or still pending at the end. */
    lost: number;
    stillPending: number;
    duplicated: number;
    /** Received more than once, every arrival before the 'sent' mark: the crash fell between SMTP's acceptance and the mark. */
    duplicatedWithinWindow: number;
    /** An arrival after the notice was marked sent: a real bug. */
    duplicatedOutsideWindow: number;
    /** Arrivals with a Message-ID the outbox has no deliverable notice for. */
    unexpected: number;
    undeliverable: number;
    withSeveralAttempts: number;
    examples: { lost: string[]; duplicatedOutsideWindow: string[]; unexpected: string[] };
  };
  ledger: {
    actions: number;
    /** (subscription, action, anniversary) recorded more than once: the unique index forbids it. */
    duplicateKeys: number;
    /** What the pure replay of the season says must be in the ledger. */
    replayed: number;
    missing: number;
    unexpected: number;
    /** Same key, another outcome ('sending' left over counts here: its notice never went). */
    outcomeMismatches: number;
    /** Outbox rows that differ from the replay's notices (missing or extra). */
    noticeMismatches: number;
    /** Subscriptions with something pending on or before the last day: due and never taken. */
    overdue: number;
    outcomes: Record<string, number>;
    examples: { missing: string[]; unexpected: string[]; outcomeMismatches: string[]; overdue: string[] };
  };
  /** Jobs left failed in Redis at the end (operators would see them in `lifecycle status`). */
  failedJobs: { count: number; examples: { id: string; reason: string }[] };
  isPassed: boolean;
}

const defaults: FaultReport['options'] = {
  subscriptions: 10_000,
  days: 120,
  drainDays: 3,
  daemonKills: 50,
  redisKills: 20,
  smtpDownDays: 5,
  workers: 2,
  concurrency: 4,
  jobLockMs: 1_000,
  jobBackoffMs: 25,
  startDay: '2025-03-01',
  seed: 1,
  database: 'sqlite',
  dayTimeoutMs: 180_000,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const workerScript = fileURLToPath(new URL('./fault-worker.ts', import.meta.url));

/** Retries `run` while Redis is down or restarting; gives up after `attempts`. */
async function retry<T>(what: string, run: () => Promise<T>, counter: { retries: number }, attempts = 300): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts) throw new Error(`${what}: still failing after ${attempts} attempts: ${(error as Error).message}`, { cause: error });
      counter.retries++;
      await sleep(Math.min(500, 20 * attempt));
    }
  }
}

interface WorkerPool {
  readonly live: number;
  unexpectedExits: number;
  /** SIGKILLs a random running worker (a ready one when there is one); a new one starts at once. */
  killOne(): Promise<void>;
  stop(): Promise<void>;
}

const maxUnexpectedExits = 20;

function startWorkerPool(size: number, env: NodeJS.ProcessEnv, logFile: string, random: () => number): WorkerPool {
  interface Slot {
    child: ChildProcess | null;
    isReady: boolean;
    isKilled: boolean;
  }
  const slots: Slot[] = Array.from({ length: size }, () => ({ child: null, isReady: false, isKilled: false }));
  let isStopping = false;
  const log = openSync(logFile, 'a');
  const pool: WorkerPool = {
    get live() {
      return slots.filter((s) => s.child).length;
    },
    unexpectedExits: 0,
    async killOne() {
      const running = slots.filter((s) => s.child && !s.isKilled);
      const ready = running.filter((s) => s.isReady);
      const candidates = ready.length > 0 ? ready : running;
      const slot = candidates[Math.floor(random() * candidates.length)];
      if (!slot?.child) return;
      const child = slot.child;
      slot.isKilled = true;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      isStopping = true;
      await Promise.all(
        slots.map(async (slot) => {
          const child = slot.child;
          if (!child) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }),
      );
      closeSync(log);
    },
  };
  const spawnInto = (slot: Slot) => {
    const child = fork(workerScript, [], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', log, log, 'ipc'] });
    slot.child = child;
    slot.isReady = false;
    slot.isKilled = false;
    child.on('message', (message: { type?: string }) => {
      if (message.type === 'ready') slot.isReady = true;
    });
    child.once('exit', () => {
      if (!slot.isKilled && !isStopping) pool.unexpectedExits++;
      slot.child = null;
      slot.isReady = false;
      // Bounded: a worker that cannot start at all is not restarted for ever (the day then times out).
      if (!isStopping && pool.unexpectedExits <= maxUnexpectedExits) setTimeout(() => !isStopping && spawnInto(slot), 50);
    });
  };
  for (const slot of slots) spawnInto(slot);
  return pool;
}

/** Writes the day file atomically: a worker never reads half a date. */
function writeDay(file: string, day: string): void {
  writeFileSync(`${file}.tmp`, `${day}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Spreads `count` faults over `days` days at random (several on one day is allowed). */
function planFaults(count: number, days: number, random: () => number): number[] {
  const perDay = new Array<number>(days).fill(0);
  for (let i = 0; i < count; i++) perDay[Math.floor(random() * days)]!++;
  return perDay;
}

export async function runFaultInjection(input: FaultInjectionOptions = {}): Promise<FaultReport> {
  const options: FaultReport['options'] = { ...defaults, ...Object.fromEntries(Object.entries(input).filter(([k, v]) => v !== undefined && k !== 'onProgress' && k !== 'keep')) };
  const progress = input.onProgress ?? (() => undefined);
  const started = performance.now();
  const random = createRandom(options.seed * 7919);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-fault-'));
  const dayFile = path.join(dir, 'day');
  const prefix = `fault${process.pid}`;
  let redis: BenchRedis | null = null;
  let sink: SmtpSink | null = null;
  let pool: WorkerPool | null = null;
  let producer: Runtime | null = null;
  let store: Store | null = null;
  let database: TestDatabase | null = null;
  try {
    // ------------------------------------------------ data: anniversaries over the season
    const first = options.startDay;
    const spanDays = options.days + 5;
    const json = path.join(dir, 'subscriptions.json');
    await writeDatasetFile(json, {
      subscriptions: options.subscriptions,
      // From 10 days before the season (catch-up, missed reminders) to its end.
      anniversaryOf: (r) => addDays(first, -10 + Math.floor(r * spanDays)),
      autoRenewShare: 0.2,
      payments: { visa: 0.7, declined: 0.08, expired: 0.04, bankTransfer: 0.14, none: 0.04 },
      noRecipientShare: 0.03,
      invalidAddressShare: 0.03,
      seed: options.seed,
    });
    const dataDir = path.join(dir, 'data');
    if (options.database === 'postgres') database = await createTestDatabase();
    store = await connectStore(database ? { url: database.url } : { file: databaseFile(dataDir) });
    const summary = await importFile(store as Parameters<typeof importFile>[0], json, new Date(`${addDays(first, -20)}T12:00:00Z`));
    const initial = (await store.all<SubscriptionRow>(sql`SELECT * FROM subscriptions ORDER BY id`)).map(toSubscription);
    const partners = new Map<string, Partner>();
    for (const s of initial) if (!partners.has(s.partnerId)) partners.set(s.partnerId, (await findPartner(store, s.partnerId))!);
    progress(`imported ${formatCount(summary.subscriptions.created)} subscriptions of ${formatCount(summary.partners.created)} partners into ${store.location}`);

    // ------------------------------------------------ Redis, SMTP sink, workers, producer
    redis = await startBenchRedis({ dir: path.join(dir, 'redis'), appendfsync: 'always' });
    sink = await startSmtpSink({ isRecording: true });
    writeDay(dayFile, first);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      LIFECYCLE_DATA_DIR: dataDir,
      ...(database ? { DATABASE_URL: database.url } : {}),
      REDIS_URL: redis.url,
      SMTP_URL: sink.url,
      QUEUE_PREFIX: prefix,
      JOB_LOCK_MS: String(options.jobLockMs),
      JOB_BACKOFF_MS: String(options.jobBackoffMs),
      WORKER_CONCURRENCY: String(options.concurrency),
      SHUTDOWN_TIMEOUT_MS: '5000',
      PAYMENT_GATEWAY: 'test',
      LOG_LEVEL: 'warn',
      FAULT_DAY_FILE: dayFile,
    };
    const config = loadConfig(env);
    pool = startWorkerPool(options.workers, env, path.join(dir, 'workers.log'), random);
    let day = first;
    producer = await startRuntime({
      config,
      store,
      log: pino({ level: 'silent' }),
      connection: { host: '127.0.0.1', port: redis.port },
      prefix,
      hasWorkers: false,
      today: () => day,
      now: () => new Date(),
    });
    const queue = producer.queues.actions;

    // ------------------------------------------------ the season
    const daemonKillsByDay = planFaults(options.daemonKills, options.days, random);
    const redisKillsByDay = planFaults(options.redisKills, options.days, random);
    const smtpDownFrom = options.smtpDownDays > 0 ? Math.floor(options.days / 3) : -1;
    const counters = { retries: 0 };
    let daemonKills = 0;
    let redisKills = 0;
    const stuckDays: string[] = [];
    let estimateMs = 500;
    const currentRedis = redis;
    const currentPool = pool;
    const currentSink = sink;

    // Redis kills of one day run one after the other: a kill never lands on a restart in progress.
    let redisTurn: Promise<void> = Promise.resolve();
    const killRedis = () => {
      redisTurn = redisTurn.then(async () => {
        await currentRedis.kill();
        redisKills++;
        await sleep(Math.floor(random() * 300));
        await currentRedis.start();
      });
      return redisTurn;
    };

    const totalDays = options.days + options.drainDays;
    for (let i = 0; i < totalDays; i++) {
      day = addDays(first, i);
      writeDay(dayFile, day);
      if (i === smtpDownFrom) await currentSink.stop();
      if (smtpDownFrom >= 0 && i === smtpDownFrom + options.smtpDownDays) await currentSink.start();
      const dayStarted = performance.now();
      // This day's faults fire at random moments of its expected length, while it runs.
      const faults: Promise<void>[] = [];
      if (i < options.days) {
        for (let k = 0; k < daemonKillsByDay[i]!; k++) {
          faults.push(sleep(Math.floor(random() * estimateMs)).then(async () => {
            await currentPool.killOne();
            daemonKills++;
          }));
        }
        for (let k = 0; k < redisKillsByDay[i]!; k++) faults.push(sleep(Math.floor(random() * estimateMs)).then(killRedis));
      }
      // Faults of one kind do not overlap: Redis kills one after the other.
      const allFaults = Promise.all(faults);
      const scanDay = day;
      await retry(`scan of ${scanDay}`, () => runScan(producer!.deps, { trigger: 'simulate', asOf: scanDay }), counters);
      const idle = (async () => {
        await allFaults;
        await retry(`waiting for ${scanDay} to go idle`, () => waitUntilIdle(queue, 20), counters);
      })();
      const outcome = await Promise.race([idle.then(() => 'idle' as const), sleep(options.dayTimeoutMs).then(() => 'timeout' as const)]);
      if (outcome === 'timeout') {
        stuckDays.push(day);
        progress(`day ${day} did not go idle within ${options.dayTimeoutMs} ms: moving on`);
        // Still polling: let it end on its own bound, reported through stuckDays only.
        idle.catch(() => undefined);
        await allFaults;
      }
      const dayMs = performance.now() - dayStarted;
      estimateMs = Math.max(200, Math.min(10_000, Math.round(0.7 * estimateMs + 0.3 * dayMs)));
      if (i % 10 === 9 || i === totalDays - 1) {
        progress(`day ${i + 1}/${totalDays} ${day}: ${daemonKills} worker kills, ${redisKills} Redis kills, ${currentSink.count} messages received${currentSink.isListening ? '' : ' (SMTP down)'}`);
      }
    }
    if (!currentSink.isListening) await currentSink.start();
    const lastDay = day;

    // ------------------------------------------------ reconcile
    const failed = await retry('reading failed jobs', () => queue.getFailed(0, 4), counters);
    const failedCount = await retry('counting failed jobs', () => queue.getFailedCount(), counters);
    await pool.stop();
    pool = null;
    await producer.close(5_000);
    producer = null;

    const report = await reconcile({
      store,
      arrivals: currentSink.arrivals,
      replay: replaySeason(initial, partners, first, totalDays, config.mailDomain),
      lastDay,
    });
    const result: FaultReport = {
      options,
      dir: input.keep ? dir : null,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      faults: {
        daemonKills,
        redisKills,
        smtpDown: smtpDownFrom >= 0 ? { from: addDays(first, smtpDownFrom), to: addDays(first, smtpDownFrom + options.smtpDownDays - 1) } : null,
        unexpectedWorkerExits: currentPool.unexpectedExits,
        scanRetries: counters.retries,
        stuckDays,
      },
      ...report,
      failedJobs: { count: failedCount, examples: failed.map((job) => ({ id: String(job.id), reason: job.failedReason })) },
      isPassed: false,
    };
    result.isPassed =
      result.notices.lost === 0 &&
      result.notices.duplicatedOutsideWindow === 0 &&
      result.notices.unexpected === 0 &&
      result.ledger.duplicateKeys === 0 &&
      result.ledger.missing === 0 &&
      result.ledger.unexpected === 0 &&
      result.ledger.outcomeMismatches === 0 &&
      result.ledger.noticeMismatches === 0 &&
      result.ledger.overdue === 0;
    return result;
  } finally {
    await pool?.stop().catch(() => undefined);
    await producer?.close(2_000).catch(() => undefined);
    await store?.close().catch(() => undefined);
    await database?.drop().catch((error: unknown) => progress(`dropping ${database!.name} failed: ${(error as Error).message}`));
    await sink?.stop();
    await redis?.stop().catch(() => undefined);
    if (!input.keep) rmSync(dir, { recursive: true, force: true });
  }
}

interface NoticeLedgerRow {
  message_id: string;
  status: 'pending' | 'sent' | 'undeliverable';
  sent_at: string | null;
  attempts: number;
}

async function reconcile(input: {
  store: Store;
  arrivals: readonly { messageId: string | null; atMs: number }[];
  replay: ReturnType<typeof replaySeason>;
  lastDay: string;
}): Promise<Pick<FaultReport, 'notices' | 'ledger'>> {
  const { store, replay } = input;
  const sample = (list: string[]) => list.slice(0, 10);
  const arrivalsById = new Map<string, number[]>();
  for (const arrival of input.arrivals) {
    const id = arrival.messageId ?? '(no Message-ID)';
    const list = arrivalsById.get(id) ?? [];
    list.push(arrival.atMs);
    arrivalsById.set(id, list);
  }
  const notices = await store.all<NoticeLedgerRow>(sql`SELECT message_id, status, sent_at, attempts FROM notices`);
  const byId = new Map(notices.map((n) => [n.message_id, n]));
  const lost: string[] = [];
  const outside: string[] = [];
  let expected = 0;
  let received = 0;
  let stillPending = 0;
  let duplicated = 0;
  let within = 0;
  let undeliverable = 0;
  let withSeveralAttempts = 0;
  for (const notice of notices) {
    if (notice.attempts > 1) withSeveralAttempts++;
    if (notice.status === 'undeliverable') {
      undeliverable++;
      continue;
    }
    expected++;
    const arrivals = arrivalsById.get(notice.message_id) ?? [];
    if (arrivals.length > 0) received++;
    if (notice.status === 'pending') stillPending++;
    if (arrivals.length === 0 || notice.status === 'pending') lost.push(`${notice.message_id} (${notice.status}, ${notice.attempts} attempts, ${arrivals.length} received)`);
    if (arrivals.length > 1) {
      duplicated++;
      const sentAtMs = notice.sent_at ? Date.parse(notice.sent_at) : Number.POSITIVE_INFINITY;
      if (arrivals.every((at) => at <= sentAtMs)) within++;
      else outside.push(`${notice.message_id} (arrivals ${arrivals.map((at) => new Date(at).toISOString()).join(', ')}; sent_at ${notice.sent_at})`);
    }
  }
  const unexpected = [...arrivalsById.keys()].filter((id) => byId.get(id)?.status !== 'sent' && byId.get(id)?.status !== 'pending');

  // The ledger against the replay.
  const ledgerRows = await store.all<{ subscription_id: string; action: string; anniversary_on: string; outcome: string }>(
    sql`SELECT subscription_id, action, anniversary_on, outcome FROM actions`,
  );
  const { n: duplicateKeys } = (await store.get<{ n: number }>(
    sql`SELECT COUNT(*) AS n FROM (SELECT 1 FROM actions GROUP BY subscription_id, action, anniversary_on HAVING COUNT(*) > 1) AS twice`,
  ))!;
  const ledger = new Map(ledgerRows.map((r) => [actionKey(r.subscription_id, r.action, r.anniversary_on), r.outcome]));
  const missing: string[] = [];
  const mismatches: string[] = [];
  for (const [key, action] of replay.actions) {
    const outcome = ledger.get(key);
    if (outcome === undefined) missing.push(`${key} (due ${action.day}, expected ${action.outcome})`);
    else if (outcome !== action.outcome) mismatches.push(`${key}: ledger ${outcome}, replay ${action.outcome}`);
  }
  const unexpectedActions = [...ledger.keys()].filter((key) => !replay.actions.has(key)).map((key) => `${key}: ${ledger.get(key)}`);
  let noticeMismatches = 0;
  for (const [id, notice] of replay.notices) {
    const row = byId.get(id);
    if (!row || (row.status === 'undeliverable') === notice.isDeliverable) noticeMismatches++;
  }
  for (const id of byId.keys()) if (!replay.notices.has(id)) noticeMismatches++;
  const overdue = await store.all<{ id: string; next_due_on: string }>(
    sql`SELECT id, next_due_on FROM subscriptions WHERE next_due_on IS NOT NULL AND next_due_on <= ${input.lastDay} ORDER BY next_due_on, id LIMIT 1000`,
  );
  const outcomes: Record<string, number> = {};
  for (const row of ledgerRows) {
    const key = `${row.action}:${row.outcome}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  return {
    notices: {
      expected,
      received,
      lost: lost.length,
      stillPending,
      duplicated,
      duplicatedWithinWindow: within,
      duplicatedOutsideWindow: outside.length,
      unexpected: unexpected.length,
      undeliverable,
      withSeveralAttempts,
      examples: { lost: sample(lost), duplicatedOutsideWindow: sample(outside), unexpected: sample(unexpected) },
    },
    ledger: {
      actions: ledgerRows.length,
      duplicateKeys,
      replayed: replay.actions.size,
      missing: missing.length,
      unexpected: unexpectedActions.length,
      outcomeMismatches: mismatches.length,
      noticeMismatches,
      overdue: overdue.length,
      outcomes: Object.fromEntries(Object.entries(outcomes).sort()),
      examples: {
        missing: sample(missing),
        unexpected: sample(unexpectedActions),
        outcomeMismatches: sample(mismatches),
        overdue: sample(overdue.map((o) => `${o.id} (next due ${o.next_due_on})`)),
      },
    },
  };
}

export function formatFaultReport(report: FaultReport): string {
  const o = report.options;
  const n = report.notices;
  const l = report.ledger;
  const f = report.faults;
  const line = (label: string, value: string | number) => `  ${label.padEnd(52)} ${typeof value === 'number' ? formatCount(value) : value}`;
  const examples = (label: string, list: string[]) => (list.length > 0 ? [`  ${label}:`, ...list.map((x) => `    ${x}`)] : []);
  return [
    '',
    `fault injection: ${formatCount(o.subscriptions)} subscriptions on ${o.database === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${o.days} days from ${o.startDay} (+${o.drainDays} quiet), ${o.workers} worker processes × concurrency ${o.concurrency}, JOB_LOCK_MS ${o.jobLockMs}, seed ${o.seed}`,
    `  ${report.seconds} s; Node ${process.version}, ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
    '',
    'faults',
    line('worker processes killed (SIGKILL)', f.daemonKills),
    line('redis-server killed (SIGKILL) and restarted', f.redisKills),
    line('SMTP server down', f.smtpDown ? `${f.smtpDown.from} … ${f.smtpDown.to}` : 'never'),
    line('worker exits nobody asked for', f.unexpectedWorkerExits),
    line('harness calls retried (Redis down)', f.scanRetries),
    line('days that never went idle', f.stuckDays.length === 0 ? 'none' : f.stuckDays.join(', ')),
    '',
    'notices (outbox against the SMTP sink, by Message-ID)',
    line('expected (sent or pending, someone to receive them)', n.expected),
    line('received', n.received),
    line('lost (never received, or still pending)', n.lost),
    line('  of which still pending', n.stillPending),
    line('duplicated', n.duplicated),
    line('  within the SMTP acknowledgement window', n.duplicatedWithinWindow),
    line('  outside it (an arrival after the sent mark: a bug)', n.duplicatedOutsideWindow),
    line('received but not expected', n.unexpected),
    line('undeliverable (R10), none sent', n.undeliverable),
    line('notices with more than one attempt', n.withSeveralAttempts),
    ...examples('lost', n.examples.lost),
    ...examples('duplicated outside the window', n.examples.duplicatedOutsideWindow),
    ...examples('unexpected', n.examples.unexpected),
    '',
    'ledger (actions table against a pure policy replay of the season)',
    line('actions recorded', l.actions),
    line('(subscription, action, anniversary) more than once', l.duplicateKeys),
    line('actions the replay says are due', l.replayed),
    line('missing from the ledger', l.missing),
    line('in the ledger, not in the replay', l.unexpected),
    line('other outcome than the replay', l.outcomeMismatches),
    line('outbox rows differing from the replay', l.noticeMismatches),
    line('subscriptions with an action due by the last day, untaken', l.overdue),
    `  outcomes: ${Object.entries(l.outcomes).map(([k, v]) => `${k} ${formatCount(v)}`).join(', ')}`,
    ...examples('missing', l.examples.missing),
    ...examples('unexpected', l.examples.unexpected),
    ...examples('other outcome', l.examples.outcomeMismatches),
    ...examples('overdue', l.examples.overdue),
    '',
    line('jobs left failed in Redis', report.failedJobs.count),
    ...report.failedJobs.examples.map((j) => `    ${j.id}: ${j.reason}`),
    '',
    report.isPassed ? 'PASSED: nothing lost, nothing sent twice outside the acknowledgement window, the ledger matches the replay' : 'FAILED',
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string' },
      days: { type: 'string' },
      'daemon-kills': { type: 'string' },
      'redis-kills': { type: 'string' },
      'smtp-down-days': { type: 'string' },
      workers: { type: 'string' },
      seed: { type: 'string' },
      database: { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const databaseArg = values.database ?? 'sqlite';
  if (databaseArg !== 'sqlite' && databaseArg !== 'postgres') {
    process.stderr.write(`error: --database ${databaseArg}: expected sqlite or postgres\n`);
    process.exit(2);
  }
  const report = await runFaultInjection({
    database: databaseArg,
    subscriptions: readCount(values.subscriptions, 'subscriptions', defaults.subscriptions),
    days: readCount(values.days, 'days', defaults.days),
    daemonKills: readCount(values['daemon-kills'], 'daemon-kills', defaults.daemonKills, 0),
    redisKills: readCount(values['redis-kills'], 'redis-kills', defaults.redisKills, 0),
    smtpDownDays: readCount(values['smtp-down-days'], 'smtp-down-days', defaults.smtpDownDays, 0),
    workers: readCount(values.workers, 'workers', defaults.workers),
    seed: readCount(values.seed, 'seed', defaults.seed),
    keep: values.keep,
    onProgress: (line) => process.stderr.write(`fault: ${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatFaultReport(report));
  process.exit(report.notices.lost > 0 || report.notices.duplicatedOutsideWindow > 0 || !report.isPassed ? 1 : 0);
}
