/**
 * The store backends side by side: SQLite and PostgreSQL on the same data set, the same day and
 * the same Redis and SMTP sink, then delivery on PostgreSQL with one and with two worker processes.
 *
 *   node --import tsx bench/backends.ts [--subscriptions N] [--backend sqlite|postgres|both]
 *                                       [--notices K] [--concurrency C] [--pg-load import|copy]
 *                                       [--out FILE]
 *
 * Defaults N = 1,000,000, both backends, K = 10,000 notices per delivery run, C = 8. Generates
 * N subscriptions (N/4 partners) whose anniversaries fall in the year from the scan day, then on
 * each backend times:
 * - import: importFile of the JSON into an empty store (PostgreSQL: a database of its own on
 *   TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, dropped at the end;
 *   `--pg-load copy` fills it with copyStore from the SQLite file instead, `lifecycle db copy`);
 * - dry-run scan: findDue of the first day after the import (about 16/365 of the table due);
 * - scan + enqueue: runScan of that day into a private redis-server (addBulk per 1,000);
 * - delivery: K outbox notices through deliver jobs → render → pooled SMTP into a sink, worked
 *   by one worker process (bench/fault-worker.ts, the real runtime, connectStore on the backend);
 * then on PostgreSQL the same with two worker processes (K other notices), and the speed-up.
 * Prints the conditions and a table, and writes bench/out/backends.json. Aims are reported, never asserted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createTestGateway } from '../src/billing/gateway.js';
import { loadConfig, type Config } from '../src/config.js';
import { importFile } from '../src/import/import-file.js';
import { createQueues, enqueueDelivery, waitUntilIdle } from '../src/jobs/queues.js';
import { runScan } from '../src/jobs/scan.js';
import { addDays } from '../src/policy/dates.js';
import type { LifecycleAction } from '../src/policy/types.js';
import { findDue } from '../src/scan/find-due.js';
import { copyStore } from '../src/store/copy.js';
import { connectStore, openStore } from '../src/store/db.js';
import type { Dialect, Store } from '../src/store/executor.js';
import { createTestDatabase, probePostgres, type TestDatabase } from '../support/postgres.js';
import { trackChild } from '../support/processes.js';
import { deliveryKinds, putDeliveryNotice } from './lib/delivery-notices.js';
import { subscriptionId, writeDatasetFile } from './lib/dataset.js';
import { describeMachine, formatCount, formatRate, formatTable, measureStage, processCpuSeconds, readCount, readMachineCpu, type Timed } from './lib/measure.js';
import { startBenchRedis } from './lib/redis-server.js';
import { startSmtpSinkProcess } from './lib/smtp-sink.js';
import { waitUntilIdleTimed } from './lib/wait-idle.js';

const { values: args } = parseArgs({
  options: {
    subscriptions: { type: 'string' },
    backend: { type: 'string', default: 'both' },
    notices: { type: 'string' },
    concurrency: { type: 'string' },
    'pg-load': { type: 'string', default: 'import' },
    out: { type: 'string' },
  },
});
/** Notices each worker process delivers, untimed, before a delivery run's clock starts. */
const warmUpNotices = 200;
const N = readCount(args.subscriptions, 'subscriptions', 1_000_000, 1_000);
const K = readCount(args.notices, 'notices', 10_000);
const concurrency = readCount(args.concurrency, 'concurrency', 8);
const backendArg = args.backend!;
if (!['sqlite', 'postgres', 'both'].includes(backendArg)) {
  process.stderr.write(`error: --backend ${backendArg}: expected sqlite, postgres or both\n`);
  process.exit(2);
}
const pgLoad = args['pg-load']!;
if (!['import', 'copy'].includes(pgLoad)) {
  process.stderr.write(`error: --pg-load ${pgLoad}: expected import or copy\n`);
  process.exit(2);
}
if (K * 3 + warmUpNotices * 4 > N / 2) {
  process.stderr.write(`error: --notices ${K}: at most a sixth of --subscriptions (three delivery runs on distinct subscriptions)\n`);
  process.exit(2);
}
const outFile = path.resolve(args.out ?? fileURLToPath(new URL('./out/backends.json', import.meta.url)));
const backends: Dialect[] = backendArg === 'both' ? ['sqlite', 'postgres'] : [backendArg as Dialect];

/** The day after the import: anniversaries fall in the year from it, rows due are those with A − 15 ≤ day. */
const scanDay = '2019-09-02';
const importedAt = new Date('2019-09-01T12:00:00Z');
const log = pino({ level: 'silent' });
const progress = (line: string) => process.stderr.write(`backends: ${line}\n`);
const workerScript = fileURLToPath(new URL('./fault-worker.ts', import.meta.url));

interface StageResult {
  stage: string;
  backend: Dialect;
  count: number;
  unit: string;
  seconds: number;
  /** This process's user + system CPU seconds (worker processes and servers not included). */
  cpuSeconds: number;
  /** Of the worker processes (delivery), redis-server, and the PostgreSQL backends serving this database. */
  workersCpuSeconds: number;
  redisCpuSeconds: number;
  postgresCpuSeconds: number;
  /** Of the SMTP sink's child process. */
  sinkCpuSeconds: number;
  /** Of the whole machine (every process, every core), busy and idle: see readMachineCpu. */
  machineBusySeconds: number;
  machineIdleSeconds: number;
  ratePerSecond: number;
  peakRssMb: number;
  detail: string;
}
const stages: StageResult[] = [];
const notes: string[] = [];

type Measured<T> = Timed<T> & { workersCpuSeconds: number; redisCpuSeconds: number; postgresCpuSeconds: number; sinkCpuSeconds: number; machineBusySeconds: number; machineIdleSeconds: number };

let readRedisCpu: () => Promise<number> = async () => 0;
let readSinkCpu: () => Promise<number> = async () => 0;
/** The server processes serving connections to the benchmark's database (pg_stat_activity), by pid. */
let postgresStore: Store | null = null;

async function readPostgresCpu(): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  if (!postgresStore) return cpu;
  const rows = await postgresStore.all<{ pid: number }>(sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  for (const { pid } of rows) cpu.set(pid, processCpuSeconds(pid));
  return cpu;
}

/**
 * measureStage, plus the CPU of the other processes doing the work: the worker processes, Redis
 * and the PostgreSQL backends (a backend that starts and ends within the stage is not seen: a
 * lower bound). On a loaded machine CPU seconds compare better than wall time.
 */
async function measure<T>(run: (sample: () => void) => Promise<T> | T, workerPids: readonly number[] = []): Promise<Measured<T>> {
  const sumWorkers = () => workerPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const [workersBefore, redisBefore, sinkBefore, pgBefore] = [sumWorkers(), await readRedisCpu(), await readSinkCpu(), await readPostgresCpu()];
  const machineBefore = readMachineCpu();
  const timed = await measureStage(run);
  const machineAfter = readMachineCpu();
  const [workersAfter, redisAfter, sinkAfter, pgAfter] = [sumWorkers(), await readRedisCpu(), await readSinkCpu(), await readPostgresCpu()];
  let postgresCpuSeconds = 0;
  for (const [pid, after] of pgAfter) postgresCpuSeconds += after - (pgBefore.get(pid) ?? 0);
  return {
    ...timed,
    workersCpuSeconds: workersAfter - workersBefore,
    redisCpuSeconds: redisAfter - redisBefore,
    postgresCpuSeconds,
    sinkCpuSeconds: sinkAfter - sinkBefore,
    machineBusySeconds: machineAfter.busySeconds - machineBefore.busySeconds,
    machineIdleSeconds: machineAfter.idleSeconds - machineBefore.idleSeconds,
  };
}

function record<T>(stage: string, backend: Dialect, unit: string, timed: Measured<T>, count: number, detail = ''): StageResult {
  const result: StageResult = {
    stage,
    backend,
    count,
    unit,
    seconds: Math.round(timed.seconds * 1000) / 1000,
    cpuSeconds: Math.round(timed.cpuSeconds * 1000) / 1000,
    workersCpuSeconds: Math.round(timed.workersCpuSeconds * 1000) / 1000,
    redisCpuSeconds: Math.round(timed.redisCpuSeconds * 1000) / 1000,
    postgresCpuSeconds: Math.round(timed.postgresCpuSeconds * 1000) / 1000,
    sinkCpuSeconds: Math.round(timed.sinkCpuSeconds * 1000) / 1000,
    machineBusySeconds: Math.round(timed.machineBusySeconds * 100) / 100,
    machineIdleSeconds: Math.round(timed.machineIdleSeconds * 100) / 100,
    ratePerSecond: Math.round(count / timed.seconds),
    peakRssMb: timed.memory.peakRssMb,
    detail,
  };
  stages.push(result);
  progress(`${backend} · ${stage}: ${formatCount(count)} ${unit} in ${timed.seconds.toFixed(2)} s (${formatRate(result.ratePerSecond)}/s)${detail ? `; ${detail}` : ''}`);
  return result;
}

// ---------------------------------------------------------------- stages

async function countRows(store: Store): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['partners', 'contacts', 'subscriptions', 'notices', 'actions']) {
    counts[table] = (await store.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${sql.identifier(table)}`))!.n;
  }
  return counts;
}

async function scanDryRun(store: Store, day: string, sample: () => void): Promise<{ subscriptions: number; actions: number; missed: number; byAction: Record<LifecycleAction, number> }> {
  const byAction: Record<LifecycleAction, number> = { 'remind-before': 0, 'auto-renew': 0, 'remind-after': 0, lapse: 0 };
  let subscriptions = 0;
  let missed = 0;
  for await (const { due, missed: late } of findDue(store, day)) {
    subscriptions++;
    for (const action of due) byAction[action]++;
    missed += late.length;
    if ((subscriptions & 0x3fff) === 0) sample();
  }
  return { subscriptions, actions: Object.values(byAction).reduce((a, b) => a + b, 0), missed, byAction };
}

/** K deliverable notices in the outbox, from subscriptions `first`, `first + 1`, …, written as the jobs write them. */
async function writeOutbox(store: Store, config: Readonly<Config>, first: number, count: number): Promise<{ messageIds: string[]; next: number }> {
  const messageIds: string[] = [];
  const at = new Date();
  let index = first;
  while (messageIds.length < count) {
    await store.transaction(async (tx) => {
      for (let n = 0; n < 1_000 && messageIds.length < count; n++, index++) {
        const messageId = await putDeliveryNotice(tx, config, subscriptionId(index), messageIds.length, scanDay, at);
        if (messageId === undefined) throw new Error(`subscription ${subscriptionId(index)} not found: too few subscriptions for the notices`);
        if (messageId !== null) messageIds.push(messageId);
      }
    });
  }
  return { messageIds, next: index };
}

interface WorkerProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** bench/fault-worker.ts (the runtime: queues, workers, mailer) in a child process, resolved once its workers are ready. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = trackChild(fork(workerScript, [], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { type?: string }) => {
      if (message.type === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`a worker process exited with status ${String(code)} before it was ready`)));
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Place {
  backend: Dialect;
  store: Store;
  /** What the worker processes are given: DATABASE_URL, or the data dir holding the SQLite file. */
  env: Record<string, string>;
  describe: string;
  version: string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-backends-'));
  const machineAtStart = describeMachine();
  progress(`${formatCount(N)} subscriptions on ${backends.join(' and ')}, ${formatCount(K)} notices per delivery run, in ${dir}`);
  if (backends.includes('postgres')) {
    const pg = await probePostgres();
    if (!pg.isAvailable) throw new Error(`PostgreSQL did not answer: ${pg.reason}`);
  }
  const redis = await startBenchRedis({ dir: path.join(dir, 'redis') });
  const sink = await startSmtpSinkProcess();
  readSinkCpu = async () => (await sink.readCount()).cpuSeconds;
  const connection = { host: '127.0.0.1', port: redis.port };
  const admin = new Redis({ ...connection, maxRetriesPerRequest: 3 });
  readRedisCpu = async () => {
    const info = await admin.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  };
  const databases: TestDatabase[] = [];
  const places: Place[] = [];
  const rowCounts: Record<string, Record<string, number>> = {};
  const dayFile = path.join(dir, 'day');
  writeFileSync(dayFile, `${scanDay}\n`);
  try {
    const json = path.join(dir, 'subscriptions.json');
    let started = performance.now();
    const generated = await writeDatasetFile(json, {
      subscriptions: N,
      anniversaryOf: (r) => addDays(scanDay, Math.floor(r * 365)),
      autoRenewShare: 0.2,
      payments: { visa: 0.8, declined: 0.05, expired: 0.02, bankTransfer: 0.13, none: 0 },
      seed: 7,
    });
    const generateSeconds = (performance.now() - started) / 1000;
    progress(`generated ${formatCount(generated.subscriptions)} subscriptions, ${formatCount(generated.partners)} partners in ${generateSeconds.toFixed(1)} s (${(statSync(json).size / 2 ** 20).toFixed(0)} MiB JSON)`);

    // ------------------------------------------------ load each backend
    const sqliteFile = path.join(dir, 'sqlite', 'lifecycle.db');
    mkdirSync(path.dirname(sqliteFile), { recursive: true });
    const needsSqlite = backends.includes('sqlite') || pgLoad === 'copy';
    if (needsSqlite) {
      const store = openStore(sqliteFile);
      const timed = await measure(() => importFile(store, json, importedAt));
      const s = timed.value.subscriptions;
      if (backends.includes('sqlite')) record('import', 'sqlite', 'subscriptions', timed, N, `importFile of the JSON: ${formatCount(s.created)} created`);
      const version = (await store.get<{ v: string }>(sql`SELECT sqlite_version() AS v`))!.v;
      places.push({
        backend: 'sqlite',
        store,
        env: { LIFECYCLE_DATA_DIR: path.dirname(sqliteFile) },
        describe: `SQLite ${version} (WAL, synchronous NORMAL), file in ${os.tmpdir()}`,
        version,
        close: () => store.close(),
      });
    }
    if (backends.includes('postgres')) {
      const database = await createTestDatabase();
      databases.push(database);
      const store = await connectStore({ url: database.url });
      postgresStore = store;
      if (pgLoad === 'import') {
        const timed = await measure(() => importFile(store as Parameters<typeof importFile>[0], json, importedAt));
        record('import', 'postgres', 'subscriptions', timed, N, `importFile of the JSON (COPY): ${formatCount(timed.value.subscriptions.created)} created`);
      } else {
        const source = places.find((p) => p.backend === 'sqlite')!.store;
        const timed = await measure(() => copyStore(source, store));
        record('import', 'postgres', 'subscriptions', timed, N, 'copyStore from the SQLite file (lifecycle db copy), not importFile');
      }
      await store.run(sql`ANALYZE`);
      const version = (await store.get<{ v: string }>(sql`SELECT current_setting('server_version') AS v`))!.v;
      places.push({
        backend: 'postgres',
        store,
        env: { DATABASE_URL: database.url, LIFECYCLE_DATA_DIR: path.join(dir, 'pg-data') },
        describe: `PostgreSQL ${version} on 127.0.0.1:5432 (pool of 10 per process)`,
        version,
        close: () => store.close(),
      });
    }
    rmSync(json);
    const active = places.filter((p) => backends.includes(p.backend));
    for (const place of active) rowCounts[place.backend] = await countRows(place.store);

    const config = loadConfig({
      LIFECYCLE_DATA_DIR: dir,
      REDIS_URL: redis.url,
      SMTP_URL: sink.url,
      PAYMENT_GATEWAY: 'test',
      WORKER_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'silent',
    });

    // ------------------------------------------------ dry-run scan, scan + enqueue
    for (const place of active) {
      // Untimed warm-up: the page cache (SQLite file, PostgreSQL buffers) and the JIT.
      await scanDryRun(place.store, scanDay, () => undefined);
      const scan = await measure((sample) => scanDryRun(place.store, scanDay, sample));
      const v = scan.value;
      record('dry-run scan', place.backend, 'subscriptions due', scan, v.subscriptions, `findDue ${scanDay}: ${formatCount(v.actions)} actions (${Object.entries(v.byAction).filter(([, n]) => n > 0).map(([a, n]) => `${a} ${formatCount(n)}`).join(', ')}), ${formatCount(v.missed)} missed`);

      await admin.flushdb();
      const queues = createQueues(connection, `bench-scan-${place.backend}`, config);
      await queues.actions.waitUntilReady();
      const deps = { store: place.store, config, gateway: createTestGateway(), sendNotice: () => Promise.reject(new Error('the scan benchmark sends nothing')), queue: queues.actions, today: () => scanDay, now: () => new Date(), log };
      const enqueue = await measure(() => runScan(deps, { trigger: 'operator', asOf: scanDay }));
      const waiting = await queues.actions.getWaitingCount();
      record('scan + enqueue', place.backend, 'jobs', enqueue, enqueue.value.enqueued, `runScan ${scanDay}: ${formatCount(enqueue.value.due)} due, ${formatCount(enqueue.value.missed)} missed, ${formatCount(waiting)} jobs waiting in Redis`);
      await queues.close();
      await admin.flushdb();
    }

    // ------------------------------------------------ delivery in worker processes
    let nextSubscription = 0;
    const runDelivery = async (place: Place, workers: number): Promise<StageResult> => {
      const warmUp = await writeOutbox(place.store, config, nextSubscription, warmUpNotices * workers);
      const outbox = await writeOutbox(place.store, config, warmUp.next, K);
      nextSubscription = outbox.next;
      await admin.flushdb();
      const prefix = `bench-deliver-${place.backend}-${workers}`;
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REDIS_URL: redis.url,
        SMTP_URL: sink.url,
        QUEUE_PREFIX: prefix,
        PAYMENT_GATEWAY: 'test',
        WORKER_CONCURRENCY: String(concurrency),
        LOG_LEVEL: 'warn',
        FAULT_DAY_FILE: dayFile,
        ...place.env,
      };
      const processes = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
      const queues = createQueues(connection, prefix, config);
      await queues.actions.waitUntilReady();
      // Untimed: each fresh process's first jobs (JIT, connections, the pools' first SMTP sessions).
      await enqueueDelivery(queues.actions, warmUp.messageIds);
      await waitUntilIdle(queues.actions, 25);
      const sentBefore = (await sink.readCount()).count;
      try {
        const timed = await measure(async () => {
          for (let i = 0; i < outbox.messageIds.length; i += 1_000) await enqueueDelivery(queues.actions, outbox.messageIds.slice(i, i + 1_000));
          await waitUntilIdleTimed(queues.actions, 25);
          return outbox.messageIds.length;
        }, processes.map((p) => p.child.pid!));
        const received = (await sink.readCount()).count - sentBefore;
        const { n: sent } = (await place.store.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM notices WHERE status = 'sent'`))!;
        const { n: pending } = (await place.store.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM notices WHERE status = 'pending'`))!;
        return record(`delivery, ${workers} worker process${workers === 1 ? '' : 'es'}`, place.backend, 'notices', timed, K, `concurrency ${concurrency} each; ${formatCount(received)} received by the sink; ${formatCount(sent)} notices marked sent, ${formatCount(pending)} pending in the outbox (warm-up included)`);
      } finally {
        await queues.close();
        await Promise.all(processes.map((p) => p.stop()));
        await admin.flushdb();
      }
    };
    for (const place of active) await runDelivery(place, 1);
    const pgPlace = active.find((p) => p.backend === 'postgres');
    if (pgPlace) {
      const one = stages.find((s) => s.backend === 'postgres' && s.stage.startsWith('delivery, 1'))!;
      const two = await runDelivery(pgPlace, 2);
      notes.push(`PostgreSQL delivery, 2 worker processes ÷ 1: ${(two.ratePerSecond / one.ratePerSecond).toFixed(2)}× (aim ≥ 1.5× on 2 cores; the SMTP sink, Redis and PostgreSQL share the same cores)`);
    }
    for (const place of active) rowCounts[place.backend] = { ...rowCounts[place.backend], ...(await countRows(place.store)) };

    // ------------------------------------------------ report
    const machine = describeMachine();
    const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? redis.version;
    const conditions: [string, string][] = [
      ['subscriptions (N)', `${formatCount(N)} (${formatCount(generated.partners)} partners), generated in ${generateSeconds.toFixed(1)} s`],
      ['scan day', `${scanDay}, the day after the import (anniversaries over the year from it)`],
      ['notices (K)', `${formatCount(K)} per delivery run, kinds ${deliveryKinds.join(', ')}, each run on other subscriptions`],
      ['cpu', `${machine.cpu}, ${machine.cores} cores`],
      ['memory', `${machine.memoryGiB} GiB`],
      ['node', `${machine.node} (TypeScript sources through tsx)`],
      ...active.map((p): [string, string] => [p.backend, p.describe]),
      ['redis', `${redisVersion} (private, loopback)`],
      ['smtp', 'SMTP sink in a child process (support/smtp.ts: plain-socket SMTP with PIPELINING, data counted and discarded)'],
      ['load average 1/5/15 min', `${machineAtStart.loadAverage.join(' ')} at start, ${machine.loadAverage.join(' ')} at end (a shared machine)`],
      ...active.map((p): [string, string] => [`rows, ${p.backend}`, Object.entries(rowCounts[p.backend]!).map(([t, n]) => `${t} ${formatCount(n)}`).join(', ')]),
    ];
    const stageNames = [...new Set(stages.map((s) => s.stage))];
    const cell = (stage: string, backend: Dialect) => {
      const s = stages.find((x) => x.stage === stage && x.backend === backend);
      return s ? `${s.seconds.toFixed(2)} s, ${formatRate(s.ratePerSecond)}/s` : '–';
    };
    const rows = stageNames.map((stage) => {
      const units = stages.find((s) => s.stage === stage)!;
      return [stage, formatCount(units.count), units.unit, ...active.map((p) => cell(stage, p.backend))];
    });
    const cpuRows = stages.map((s) => {
      const measured = s.cpuSeconds + s.workersCpuSeconds + s.postgresCpuSeconds + s.redisCpuSeconds + s.sinkCpuSeconds;
      return [
        `${s.backend} · ${s.stage}`,
        s.cpuSeconds.toFixed(2),
        s.workersCpuSeconds > 0.005 ? s.workersCpuSeconds.toFixed(2) : '',
        s.postgresCpuSeconds > 0.005 ? s.postgresCpuSeconds.toFixed(2) : '',
        s.redisCpuSeconds > 0.005 ? s.redisCpuSeconds.toFixed(2) : '',
        s.sinkCpuSeconds > 0.005 ? s.sinkCpuSeconds.toFixed(2) : '',
        ((measured / s.count) * 1e6).toFixed(0),
        // Cores busy on average over the stage, and of them what the processes above did not use.
        `${(s.machineBusySeconds / s.seconds).toFixed(2)} of ${machine.cores}`,
        Math.max(0, s.machineBusySeconds - measured).toFixed(2),
      ];
    });
    const text = [
      '',
      'conditions',
      ...conditions.map(([k, v]) => `  ${k.padEnd(24)} ${v}`),
      '',
      formatTable(['stage', 'count', 'unit', ...active.map((p) => `${p.backend} (wall, rate)`)], rows),
      '',
      formatTable(['cpu seconds', 'bench', 'workers', 'postgres', 'redis', 'smtp sink', 'µs per unit, all', 'cores busy', 'other'], cpuRows),
      '(bench: this process, all its threads; workers: the worker processes; postgres: the server processes of this database, a lower bound;',
      ' cores busy: the whole machine on average over the stage; other: CPU seconds of the rest of the machine (other jobs, the kernel, PostgreSQL\'s own processes))',
      '',
      'details',
      ...stages.map((s) => `  ${s.backend} · ${s.stage}: peak RSS ${s.peakRssMb} MB; ${s.detail}`),
      '',
      'notes',
      ...notes.map((n) => `  - ${n}`),
      '',
    ].join('\n');
    const report = {
      generatedAt: new Date().toISOString(),
      options: { subscriptions: N, backends, notices: K, concurrency, pgLoad, scanDay },
      conditions: Object.fromEntries(conditions),
      machineAtStart,
      machine,
      rowCounts,
      stages,
      notes,
    };
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${text}\nwritten to ${path.relative(process.cwd(), outFile)}\n`);
  } finally {
    for (const place of places) await place.close().catch(() => undefined);
    for (const database of databases) await database.drop().catch((error: unknown) => progress(`dropping ${database.name} failed: ${(error as Error).message}`));
    admin.disconnect();
    await sink.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
