/**
 * End-to-end benchmark: each stage beside its naive baseline and the raw ceiling, all measured
 * in the same run on the same private redis-server and SMTP sink.
 *
 *   node --import tsx bench/e2e.ts [--subscriptions N] [--worst-case M] [--notices K]
 *                                  [--concurrency C] [--mjml-sample S] [--keep]
 *
 * Defaults N = 1,000,000, M = 100,000, K = 20,000. Builds N subscriptions through importFile
 * (in a child process), in a steady state as of a typical day D, then times:
 * - scan + enqueue of D's work: runScan (addBulk) vs findDue + one Queue.add per job, beside
 *   addBulk of the same jobs pre-built (BullMQ's ceiling) and redis-benchmark (Redis's);
 * - the same with M more subscriptions moved to one anniversary (worst case);
 * - the indexed due scan (findDue) vs SELECT * FROM subscriptions + the policy per row;
 * - delivery of K outbox notices through deliver jobs → render → pooled SMTP into a sink in a
 *   child process, vs the mailer alone (the parts encoded, nodemailer, the same pool) sending the
 *   K notices rendered beforehand into the same sink;
 * - rendering with the compiled templates vs mjml2html per message (S of them);
 * - peak RSS (sampled every 50 ms) of every stage.
 * Prints a table and writes bench/out/e2e.json. Aims are reported, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { createTestGateway } from '../src/billing/gateway.js';
import { loadConfig, type Config } from '../src/config.js';
import type { JobDeps } from '../src/jobs/deps.js';
import { createQueues, enqueueActions, enqueueDelivery, buildActionJobId, type ActionToEnqueue, type Queues } from '../src/jobs/queues.js';
import { runScan } from '../src/jobs/scan.js';
import { createLocaleFormat } from '../src/mail/format.js';
import { buildNoticeMessage } from '../src/mail/mailer.js';
import { buildNoticeValues } from '../src/mail/notice-values.js';
import { compileMjml, createNoticeRenderer, expandNoticeSources, placeholderNames } from '../src/mail/render.js';
import { compileTemplate, fillTemplate } from '../src/mail/template.js';
import { locales, type NoticeData, type Recipient, type RenderedNotice } from '../src/mail/types.js';
import { addDays } from '../src/policy/dates.js';
import { findDueActions, findMissedActions } from '../src/policy/due.js';
import { startRuntime } from '../src/runtime.js';
import { findDue } from '../src/scan/find-due.js';
import { openStore } from '../src/store/db.js';
import type { SqliteStore as Store } from '../src/store/sqlite.js';
import type { NoticeRow } from '../src/store/notices.js';
import { toSubscription, type SubscriptionRow } from '../src/store/rows.js';
import { deliveryKinds, putDeliveryNotice } from './lib/delivery-notices.js';
import { waitUntilIdleTimed } from './lib/wait-idle.js';
import { buildE2eDatabaseInChild, type BuildResult } from './lib/e2e-build.js';
import { measureScanMemoryInChild } from './lib/scan-memory.js';
import { collectGarbage, describeMachine, formatCount, formatRate, formatTable, measureStage, readCount, type MemoryPeak, type Timed } from './lib/measure.js';
import { startBenchRedis } from './lib/redis-server.js';
import { startSmtpSinkProcess } from './lib/smtp-sink.js';

const { values: args } = parseArgs({
  options: {
    subscriptions: { type: 'string' },
    'worst-case': { type: 'string' },
    notices: { type: 'string' },
    concurrency: { type: 'string' },
    'mjml-sample': { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const N = readCount(args.subscriptions, 'subscriptions', 1_000_000, 1_000);
const M = readCount(args['worst-case'], 'worst-case', 100_000);
const K = readCount(args.notices, 'notices', 20_000);
const concurrency = readCount(args.concurrency, 'concurrency', 8);
const mjmlSample = readCount(args['mjml-sample'], 'mjml-sample', 300);
const outFile = path.resolve(args.out ?? fileURLToPath(new URL('./out/e2e.json', import.meta.url)));
if (M > N / 2) {
  process.stderr.write(`error: --worst-case ${M}: at most half of --subscriptions (${N})\n`);
  process.exit(2);
}

/** The typical day D: the data set is in a steady state for it (see lib/e2e-build.ts). */
const typicalDay = '2025-06-02';
const log = pino({ level: 'silent' });
const progress = (line: string) => process.stderr.write(`e2e: ${line}\n`);

/** Redis's own CPU seconds (INFO cpu), read around each stage: Redis is a process of its own. */
let readRedisCpu: () => Promise<number> = async () => 0;
/** Likewise the SMTP sink's. */
let readSinkCpu: () => Promise<number> = async () => 0;

async function measure<T>(run: (sample: () => void) => Promise<T> | T): Promise<Timed<T> & { redisCpuSeconds: number; sinkCpuSeconds: number }> {
  const [redisBefore, sinkBefore] = [await readRedisCpu(), await readSinkCpu()];
  const timed = await measureStage(run);
  const [redisAfter, sinkAfter] = [await readRedisCpu(), await readSinkCpu()];
  return { ...timed, redisCpuSeconds: redisAfter - redisBefore, sinkCpuSeconds: sinkAfter - sinkBefore };
}

// ---------------------------------------------------------------- results

interface StageResult {
  group: string;
  name: string;
  /** 'measured' (the system), 'naive' (the baseline), 'ceiling' (the raw limit) */
  role: 'measured' | 'naive' | 'ceiling' | 'info';
  count: number;
  unit: string;
  seconds: number;
  cpuSeconds: number;
  /** CPU seconds of redis-server and of the SMTP sink process during the stage. */
  redisCpuSeconds: number;
  sinkCpuSeconds: number;
  ratePerSecond: number;
  memory: MemoryPeak | null;
  detail: string;
}
const stages: StageResult[] = [];
/** Lines printed under the table (and kept in the JSON): what each figure covers. */
const notes: string[] = [];
const scanMemory: { label: string; baselineRssMb: number; peak: MemoryPeak }[] = [];
const groups = {
  typical: 'scan + enqueue, typical day',
  worst: 'scan + enqueue, worst case',
  dueScan: 'due scan',
  memory: 'scan memory',
  delivery: 'delivery',
  rendering: 'rendering',
} as const;

function record<T>(group: string, name: string, role: StageResult['role'], unit: string, timed: Timed<T> & { redisCpuSeconds?: number; sinkCpuSeconds?: number }, count: number, detail = ''): StageResult {
  const stage: StageResult = {
    group,
    name,
    role,
    count,
    unit,
    seconds: round(timed.seconds, 3),
    cpuSeconds: round(timed.cpuSeconds, 3),
    redisCpuSeconds: round(timed.redisCpuSeconds ?? 0, 3),
    sinkCpuSeconds: round(timed.sinkCpuSeconds ?? 0, 3),
    ratePerSecond: Math.round(count / timed.seconds),
    memory: timed.memory,
    detail,
  };
  stages.push(stage);
  progress(`${group} · ${name}: ${formatCount(count)} ${unit} in ${timed.seconds.toFixed(2)} s (${formatRate(stage.ratePerSecond)}/s, peak RSS ${timed.memory.peakRssMb} MB)`);
  return stage;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ---------------------------------------------------------------- scan + enqueue

interface DueSummary {
  subscriptions: number;
  actions: number;
  missed: number;
  /** Sorted `id:due…:missed…` lines: two scans agree when these are equal. */
  fingerprint: string;
}

function summarize(lines: string[], actions: number, missed: number): DueSummary {
  lines.sort();
  return { subscriptions: lines.length, actions, missed, fingerprint: lines.join('\n') };
}

async function scanIndexed(store: Store, day: string, sample: () => void): Promise<DueSummary> {
  const lines: string[] = [];
  let actions = 0;
  let missed = 0;
  for await (const { subscription, due, missed: late } of findDue(store, day)) {
    lines.push(`${subscription.id}:${due.join('+')}:${late.join('+')}`);
    actions += due.length;
    missed += late.length;
    if ((lines.length & 0x3fff) === 0) sample();
  }
  return summarize(lines, actions, missed);
}

/** The naive scan: every row read and the policy run on each. */
function scanFullTable(store: Store, day: string, sample: () => void): DueSummary & { rowsRead: number } {
  const lines: string[] = [];
  let actions = 0;
  let missed = 0;
  let rowsRead = 0;
  for (const row of store.connection.prepare('SELECT * FROM subscriptions').iterate() as IterableIterator<SubscriptionRow>) {
    rowsRead++;
    if ((rowsRead & 0xffff) === 0) sample();
    const subscription = toSubscription(row);
    const due = findDueActions(subscription, day);
    const late = findMissedActions(subscription, day);
    if (due.length === 0 && late.length === 0) continue;
    lines.push(`${subscription.id}:${due.join('+')}:${late.join('+')}`);
    actions += due.length;
    missed += late.length;
  }
  return { ...summarize(lines, actions, missed), rowsRead };
}

/** What runScan would enqueue, built up front: the jobs for the addBulk ceiling. */
async function listJobs(store: Store, day: string): Promise<ActionToEnqueue[]> {
  const jobs: ActionToEnqueue[] = [];
  for await (const { subscription, due } of findDue(store, day)) {
    if (due.length > 0) jobs.push({ action: due[0]!, data: { subscription: subscription.id, anniversary: subscription.anniversaryOn, foundOn: day } });
  }
  return jobs;
}

function buildDeps(store: Store, config: Readonly<Config>, queues: Queues, day: string): JobDeps {
  return {
    store,
    config,
    gateway: createTestGateway(),
    sendNotice: () => Promise.reject(new Error('the scan benchmark sends nothing')),
    queue: queues.actions,
    today: () => day,
    now: () => new Date(),
    log,
  };
}

async function measureScanAndEnqueue(
  group: string,
  store: Store,
  config: Readonly<Config>,
  connection: { host: string; port: number },
  flush: () => Promise<void>,
  day: string,
  isRecorded: boolean,
): Promise<void> {
  const prefixOf = (name: string) => `e2e-${group.replace(/\W+/g, '-')}-${name}`;
  const keep = <T>(name: string, role: StageResult['role'], timed: Timed<T>, count: number) => {
    if (isRecorded) record(group, name, role, 'jobs', timed, count);
  };
  // runScan: the daemon's path (findDue pages, addBulk per 1,000, ledger for what was missed).
  await flush();
  let queues = createQueues(connection, prefixOf('bulk'), config);
  await queues.actions.waitUntilReady();
  const bulk = await measure(() => runScan(buildDeps(store, config, queues, day), { trigger: 'operator', asOf: day }));
  const waiting = await queues.actions.getWaitingCount();
  keep('runScan: findDue + addBulk', 'measured', bulk, bulk.value.enqueued);
  if (isRecorded) {
    notes.push(`${group}: runScan found ${formatCount(bulk.value.due)} due actions (${formatCount(bulk.value.missed)} missed) and enqueued the first of each subscription: ${formatCount(bulk.value.enqueued)} jobs, ${formatCount(waiting)} waiting in Redis after`);
  }
  await queues.close();

  // Naive: the same scan, one Queue.add (one round trip) per job.
  await flush();
  queues = createQueues(connection, prefixOf('naive'), config);
  await queues.actions.waitUntilReady();
  const naive = await measure(async (sample) => {
    let added = 0;
    for await (const { subscription, due } of findDue(store, day)) {
      if (due.length === 0) continue;
      const action = due[0]!;
      await queues.actions.add(action, { subscription: subscription.id, anniversary: subscription.anniversaryOn, foundOn: day }, { jobId: buildActionJobId(action, subscription.id, subscription.anniversaryOn) });
      if ((++added & 0xfff) === 0) sample();
    }
    return added;
  });
  keep('naive: findDue + one Queue.add per job', 'naive', naive, naive.value);
  await queues.close();

  // Ceiling: the same jobs built beforehand, addBulk only (what BullMQ and Redis can take), with
  // one batch in flight while the next is handed over, as runScan does.
  await flush();
  const jobs = await listJobs(store, day);
  queues = createQueues(connection, prefixOf('ceiling'), config);
  await queues.actions.waitUntilReady();
  const ceiling = await measure(async () => {
    let previous: Promise<void> = Promise.resolve();
    for (let i = 0; i < jobs.length; i += 1_000) {
      const next = enqueueActions(queues.actions, jobs.slice(i, i + 1_000));
      next.catch(() => undefined);
      await previous;
      previous = next;
    }
    await previous;
    return jobs.length;
  });
  keep('ceiling: addBulk of pre-built jobs, no SQLite', 'ceiling', ceiling, ceiling.value);
  await queues.close();
  await flush();
}

// ---------------------------------------------------------------- delivery

/** K deliverable notices in the outbox, written the way the jobs write them (putNoticeInOutbox). */
async function writeOutbox(store: Store, config: Readonly<Config>, count: number, day: string, sample: () => void): Promise<string[]> {
  const total = store.connection.prepare('SELECT COUNT(*) FROM subscriptions').pluck().get() as number;
  const stride = Math.max(1, Math.floor(total / (count * 1.2)));
  const ids = store.connection.prepare('SELECT id FROM subscriptions WHERE rowid % ? = 0 ORDER BY rowid').pluck().all(stride) as string[];
  const messageIds: string[] = [];
  const at = new Date();
  await store.transaction(async (tx) => {
    for (const id of ids) {
      if (messageIds.length >= count) break;
      const messageId = await putDeliveryNotice(tx, config, id, messageIds.length, day, at);
      if (messageId === undefined) throw new Error(`subscription ${id} not found`);
      if (messageId === null) continue;
      messageIds.push(messageId);
      if ((messageIds.length & 0xfff) === 0) sample();
    }
  });
  if (messageIds.length < count) throw new Error(`only ${messageIds.length} deliverable subscriptions for ${count} notices`);
  return messageIds;
}

function readNotices(store: Store, messageIds: readonly string[]): NoticeRow[] {
  const select = store.connection.prepare('SELECT * FROM notices WHERE message_id = ?');
  return messageIds.map((id) => select.get(id) as NoticeRow);
}

interface RenderedMessage {
  rendered: RenderedNotice;
  data: NoticeData;
  recipients: Recipient[];
}

/** Each notice rendered before the clock starts; the mailer's own work on it (buildNoticeMessage) is timed. */
function renderMessages(notices: readonly NoticeRow[], render: (data: NoticeData) => RenderedNotice): RenderedMessage[] {
  return notices.map((notice) => {
    const data = JSON.parse(notice.data) as NoticeData;
    return { rendered: render(data), data, recipients: JSON.parse(notice.recipients) as Recipient[] };
  });
}

/** Messages handed to the pool at once: enough to keep its 5 connections busy, few enough to stay light. */
const ceilingInFlight = 32;

async function sendWithNodemailer(url: string, messages: readonly RenderedMessage[], config: Readonly<Config>): Promise<number> {
  // The same transport options as the mailer's pooled SMTP.
  const transport = nodemailer.createTransport({ url, pool: true, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 });
  const sender = { from: config.mailFrom, domain: config.mailDomain };
  let next = 0;
  const sendRest = async () => {
    while (next < messages.length) {
      const { rendered, data, recipients } = messages[next++]!;
      await transport.sendMail(buildNoticeMessage(rendered, data, recipients, sender));
    }
  };
  try {
    await Promise.all(Array.from({ length: ceilingInFlight }, sendRest));
    return messages.length;
  } finally {
    transport.close();
  }
}

/** mjml2html per message: the slow path the compiled templates replace (as bench/render.ts). */
async function renderWithMjml(notices: readonly NoticeData[]): Promise<number> {
  const { default: mjml2html } = await import('mjml');
  const sources = await expandNoticeSources();
  const templates = new Map(
    [...sources].flatMap(([kind, byLocale]) => [...byLocale].map(([locale, source]) => [`${kind}/${locale}`, compileTemplate(source.mjml, source.origin, placeholderNames)] as const)),
  );
  const formats = new Map(locales.map((locale) => [locale, createLocaleFormat(locale)]));
  let bytes = 0;
  for (const notice of notices) {
    const values = buildNoticeValues(notice, formats.get(notice.locale)!);
    const mjml = fillTemplate(templates.get(`${notice.kind}/${notice.locale}`)!, values.html, values.flags);
    bytes += Buffer.byteLength(await compileMjml(mjml2html, mjml, notice.kind));
  }
  return bytes;
}

// ---------------------------------------------------------------- redis-benchmark

function runRedisBenchmark(port: number): Record<string, { requestsPerSecond: number; p50Ms: number | null }> {
  const run = spawnSync('redis-benchmark', ['-p', String(port), '-q', '-t', 'set,lpush', '-n', '100000'], { encoding: 'utf8' });
  if (run.error) throw new Error(`redis-benchmark: ${run.error.message}`);
  const results: Record<string, { requestsPerSecond: number; p50Ms: number | null }> = {};
  // -q rewrites a progress line with \r; the last figure of each test is its result.
  for (const line of run.stdout.split(/[\r\n]+/)) {
    const match = /^(\w+): ([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/.exec(line.trim());
    if (match) results[match[1]!] = { requestsPerSecond: Number(match[2]), p50Ms: match[3] ? Number(match[3]) : null };
  }
  return results;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-e2e-'));
  const machineAtStart = describeMachine();
  progress(`${formatCount(N)} subscriptions, worst case ${formatCount(M)}, ${formatCount(K)} notices, in ${dir}`);
  const redis = await startBenchRedis({ dir: path.join(dir, 'redis') });
  const sink = await startSmtpSinkProcess();
  const connection = { host: '127.0.0.1', port: redis.port };
  const admin = new Redis({ ...connection, maxRetriesPerRequest: 3 });
  const flush = async () => {
    await admin.flushdb();
  };
  readRedisCpu = async () => {
    const info = await admin.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  };
  readSinkCpu = async () => (await sink.readCount()).cpuSeconds;
  try {
    // ------------------------------------------------ build (child process)
    const databaseFile = path.join(dir, 'lifecycle.db');
    progress('building the database (child process: generate JSON, importFile, steady state)');
    const build: BuildResult = await buildE2eDatabaseInChild({ dir, databaseFile, subscriptions: N, typicalDay });
    progress(`built: generate ${build.generateSeconds.toFixed(1)} s, import ${build.importSeconds.toFixed(1)} s (${formatRate(N / build.importSeconds)}/s)`);
    const store = openStore(databaseFile);
    const sqliteVersion = store.connection.prepare('SELECT sqlite_version()').pluck().get() as string;
    const config = loadConfig({
      LIFECYCLE_DATA_DIR: dir,
      REDIS_URL: redis.url,
      SMTP_URL: sink.url,
      PAYMENT_GATEWAY: 'test',
      WORKER_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'silent',
    });
    collectGarbage();
    const baselineRssMb = round(process.memoryUsage().rss / 2 ** 20, 1);

    // ------------------------------------------------ warm-up (untimed): JIT, Lua scripts, page cache
    await measureScanAndEnqueue('warm-up', store, config, connection, flush, typicalDay, false);

    // ------------------------------------------------ typical day
    await measureScanAndEnqueue(groups.typical, store, config, connection, flush, typicalDay, true);
    await measureDueScans(store, typicalDay, 'typical day');
    await measureScanMemory(dir, databaseFile, redis.port, flush, typicalDay, 'typical day');

    // ------------------------------------------------ worst case: M more on one anniversary
    const moved = moveToOneAnniversary(store, M, typicalDay);
    progress(`worst case: ${formatCount(moved)} subscriptions moved to anniversary ${addDays(typicalDay, 15)} (remind-before due on ${typicalDay})`);
    await measureScanAndEnqueue(groups.worst, store, config, connection, flush, typicalDay, true);
    await measureDueScans(store, typicalDay, 'worst case');
    await measureScanMemory(dir, databaseFile, redis.port, flush, typicalDay, 'worst case');

    // ------------------------------------------------ delivery
    const outbox = await measure((sample) => writeOutbox(store, config, K, typicalDay, sample));
    record(groups.delivery, 'outbox: putNoticeInOutbox, one transaction', 'info', 'notices', outbox, outbox.value.length);
    const messageIds = outbox.value;
    const notices = readNotices(store, messageIds);
    const renderer = await createNoticeRenderer();
    let messages = renderMessages(notices, (data) => renderer.render(data));
    const messageBytes = messages.reduce((sum, { rendered }) => sum + Buffer.byteLength(rendered.html) + Buffer.byteLength(rendered.text), 0);
    notes.push(`delivery: ${formatCount(K)} notices of kinds ${deliveryKinds.join(', ')}, 1–3 recipients each, average HTML + text ${(messageBytes / K / 1024).toFixed(1)} KiB; nodemailer pool defaults (5 connections, 100 messages each); the mailer alone keeps ${ceilingInFlight} messages in flight`);
    const countBefore = await sink.readCount();
    const ceilingFirst = await measure(() => sendWithNodemailer(sink.url, messages, config));
    record(groups.delivery, 'ceiling: the mailer alone (encode + nodemailer), pre-rendered (run 1)', 'ceiling', 'notices', ceilingFirst, ceilingFirst.value);
    // The rendered notices (hundreds of MB) are not held while the measured path runs.
    messages = [];

    await flush();
    const runtime = await startRuntime({ config, store, log, connection, prefix: 'e2e-deliver', today: () => typicalDay, now: () => new Date() });
    await runtime.queues.actions.waitUntilReady();
    await Promise.all(runtime.workers.map((worker) => worker.waitUntilReady()));
    const countBeforeE2e = await sink.readCount();
    const endToEnd = await measure(async () => {
      for (let i = 0; i < messageIds.length; i += 1_000) await enqueueDelivery(runtime.queues.actions, messageIds.slice(i, i + 1_000));
      await waitUntilIdleTimed(runtime.queues.actions);
      return messageIds.length;
    });
    const sentInDb = store.connection.prepare("SELECT COUNT(*) FROM notices WHERE status = 'sent'").pluck().get() as number;
    const receivedE2e = (await sink.readCount()).count - countBeforeE2e.count;
    record(groups.delivery, `end to end: deliver jobs → render → pooled SMTP`, 'measured', 'notices', endToEnd, endToEnd.value);
    notes.push(`end to end: BullMQ deliver jobs (worker concurrency ${concurrency}) → deliverNotice (outbox row, render, mailer) → sink; ${formatCount(sentInDb)} notices marked sent, ${formatCount(receivedE2e)} received by the sink`);
    await runtime.close(10_000);
    await flush();

    messages = renderMessages(notices, (data) => renderer.render(data));
    const ceilingSecond = await measure(() => sendWithNodemailer(sink.url, messages, config));
    record(groups.delivery, 'ceiling: the mailer alone (encode + nodemailer), pre-rendered (run 2)', 'ceiling', 'notices', ceilingSecond, ceilingSecond.value);
    const totalReceived = (await sink.readCount()).count - countBefore.count;
    notes.push(`SMTP sink (plain-socket SMTP in a child process, data counted and discarded): ${formatCount(totalReceived)} messages received over the three delivery runs (expected ${formatCount(3 * K)})`);

    // ------------------------------------------------ rendering
    const datas = notices.map((n) => JSON.parse(n.data) as NoticeData);
    for (const data of datas.slice(0, 1_000)) renderer.render(data);
    const compiled = await measure(() => {
      let bytes = 0;
      for (const data of datas) {
        const r = renderer.render(data);
        bytes += Buffer.byteLength(r.html) + Buffer.byteLength(r.text) + Buffer.byteLength(r.subject);
      }
      return bytes;
    });
    record(groups.rendering, 'compiled templates: fill + UTF-8 encode', 'measured', 'notices', compiled, datas.length);
    const sample = datas.slice(0, Math.min(mjmlSample, datas.length));
    const slow = await measure(() => renderWithMjml(sample));
    record(groups.rendering, `naive: mjml2html per message (${formatCount(sample.length)} sampled)`, 'naive', 'notices', slow, sample.length);

    // ------------------------------------------------ Redis ceiling
    await flush();
    const redisBench = runRedisBenchmark(redis.port);
    await flush();
    const redisInfo = await admin.info('server');
    const redisVersion = /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? redis.version;

    store.close();
    const machine = describeMachine();
    const report = buildReport({ build, sqliteVersion, redisVersion, machineAtStart, machine, baselineRssMb, redisBench, databaseFile });
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(report.json, null, 2)}\n`);
    process.stdout.write(`${report.text}\nwritten to ${path.relative(process.cwd(), outFile)}\n`);
  } finally {
    admin.disconnect();
    await sink.stop();
    await redis.stop();
    if (args.keep) progress(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function measureDueScans(store: Store, day: string, label: string): Promise<void> {
  const indexed = await measure((sample) => scanIndexed(store, day, sample));
  const full = await measure((sample) => scanFullTable(store, day, sample));
  const isSame = indexed.value.fingerprint === full.value.fingerprint;
  record(groups.dueScan, `findDue (next_due_on index), ${label}`, 'measured', 'subscriptions due', indexed, indexed.value.subscriptions);
  record(groups.dueScan, `naive: SELECT * + policy per row, ${label}`, 'naive', 'subscriptions due', full, full.value.subscriptions);
  notes.push(`due scan, ${label}: ${formatCount(indexed.value.actions)} due actions on ${formatCount(indexed.value.subscriptions)} subscriptions, ${formatCount(indexed.value.missed)} missed; the full-table scan read ${formatCount(full.value.rowsRead)} rows and found ${isSame ? 'the same' : 'a DIFFERENT'} result`);
}

async function measureScanMemory(dir: string, databaseFile: string, redisPort: number, flush: () => Promise<void>, day: string, label: string): Promise<void> {
  await flush();
  const measured = await measureScanMemoryInChild({ databaseFile, dataDir: dir, redisPort, prefix: `e2e-memory-${label.replace(/\W+/g, '-')}`, day });
  await flush();
  const stage: StageResult = {
    group: groups.memory,
    name: `runScan in its own process, ${label}`,
    role: 'info',
    count: measured.result.enqueued,
    unit: 'jobs',
    seconds: round(measured.seconds, 3),
    cpuSeconds: 0,
    redisCpuSeconds: 0,
    sinkCpuSeconds: 0,
    ratePerSecond: Math.round(measured.result.enqueued / measured.seconds),
    memory: measured.peak,
    detail: `RSS ${measured.baselineRssMb} MB before the scan (modules loaded, database open), peak ${measured.peak.peakRssMb} MB`,
  };
  stages.push(stage);
  scanMemory.push({ label, baselineRssMb: measured.baselineRssMb, peak: measured.peak });
  notes.push(`scan memory, ${label}: a fresh process at ${measured.baselineRssMb} MB RSS before runScan peaked at ${measured.peak.peakRssMb} MB (heap used ${measured.peak.atPeak.heapUsedMb} MB, external ${measured.peak.atPeak.externalMb} MB; ${measured.peak.samples} samples)`);
  progress(`scan memory, ${label}: ${measured.baselineRssMb} MB → peak ${measured.peak.peakRssMb} MB`);
}

/** M subscriptions not due on D move to the anniversary D + 15: M more remind-before jobs on D. */
function moveToOneAnniversary(store: Store, count: number, day: string): number {
  const anniversary = addDays(day, 15);
  const total = store.connection.prepare('SELECT COUNT(*) FROM subscriptions').pluck().get() as number;
  const stride = Math.max(1, Math.floor(total / count) - 1);
  const ids = store.connection
    .prepare('SELECT id FROM subscriptions WHERE next_due_on > ? AND rowid % ? = 1 ORDER BY rowid LIMIT ?')
    .pluck()
    .all(day, stride, count) as string[];
  const update = store.connection.prepare("UPDATE subscriptions SET anniversary_on = ?, done_mask = 0, status = 'active', next_due_on = ? WHERE id = ?");
  store.connection.transaction(() => {
    for (const id of ids) update.run(anniversary, day, id);
  })();
  return ids.length;
}

interface ReportInput {
  build: BuildResult;
  sqliteVersion: string;
  redisVersion: string;
  machineAtStart: ReturnType<typeof describeMachine>;
  machine: ReturnType<typeof describeMachine>;
  baselineRssMb: number;
  redisBench: Record<string, { requestsPerSecond: number; p50Ms: number | null }>;
  databaseFile: string;
}

function buildReport(input: ReportInput): { text: string; json: unknown } {
  const { build, machine } = input;
  const find = (group: string, role: StageResult['role']) => stages.find((s) => s.group === group && s.role === role);
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
  const setRps = input.redisBench.SET?.requestsPerSecond ?? 0;
  const lpushRps = input.redisBench.LPUSH?.requestsPerSecond ?? 0;

  const rows: string[][] = [];
  for (const group of Object.values(groups)) {
    const measured = find(group, 'measured');
    for (const s of stages.filter((x) => x.group === group)) {
      rows.push([
        `${group} · ${s.name}`,
        s.role,
        formatCount(s.count),
        s.seconds.toFixed(2),
        s.role === 'info' && s.group === groups.memory ? '' : s.cpuSeconds.toFixed(2),
        s.redisCpuSeconds > 0.005 ? s.redisCpuSeconds.toFixed(2) : '',
        s.sinkCpuSeconds > 0.005 ? s.sinkCpuSeconds.toFixed(2) : '',
        `${formatRate(s.ratePerSecond)}/s`,
        s.role === 'measured' || s.role === 'info' || !measured ? '' : ratio(measured.ratePerSecond, s.ratePerSecond),
        s.memory ? String(s.memory.peakRssMb) : '',
      ]);
    }
  }
  rows.push(['Redis ceiling · redis-benchmark SET (-n 100000, 50 clients)', 'ceiling', '100,000', '', '', '', '', `${formatRate(setRps)}/s`, '', '']);
  rows.push(['Redis ceiling · redis-benchmark LPUSH (-n 100000, 50 clients)', 'ceiling', '100,000', '', '', '', '', `${formatRate(lpushRps)}/s`, '', '']);

  const typicalBulk = find(groups.typical, 'measured');
  const worstBulk = find(groups.worst, 'measured');
  const e2e = find(groups.delivery, 'measured');
  const ceilings = stages.filter((s) => s.group === groups.delivery && s.role === 'ceiling');
  const ceilingRate = ceilings.reduce((sum, s) => sum + s.ratePerSecond, 0) / Math.max(1, ceilings.length);
  const scanPeak = Math.max(0, ...scanMemory.map((m) => m.peak.peakRssMb));
  const aims = [
    { aim: 'scan + enqueue ≥ 30,000 jobs/s, typical day', value: typicalBulk?.ratePerSecond ?? 0, unit: 'jobs/s', isMet: (typicalBulk?.ratePerSecond ?? 0) >= 30_000 },
    { aim: 'scan + enqueue ≥ 30,000 jobs/s, worst case', value: worstBulk?.ratePerSecond ?? 0, unit: 'jobs/s', isMet: (worstBulk?.ratePerSecond ?? 0) >= 30_000 },
    { aim: 'end-to-end delivery ≥ 75% of the mailer alone', value: round((100 * (e2e?.ratePerSecond ?? 0)) / ceilingRate, 1), unit: '%', isMet: (e2e?.ratePerSecond ?? 0) >= 0.75 * ceilingRate },
    { aim: `peak RSS of the scan ≤ 300 MB at N = ${formatCount(N)}`, value: scanPeak, unit: 'MB', isMet: scanPeak <= 300 },
  ];
  const addBulkCeiling = find(groups.worst, 'ceiling')?.ratePerSecond;
  const conditions: [string, string][] = [
    ['subscriptions (N)', formatCount(N)],
    ['worst case (M)', `${formatCount(M)} subscriptions moved to one anniversary (D + 15), due on D with the typical day's work`],
    ['notices (K)', formatCount(K)],
    ['typical day (D)', `${typicalDay} (data in a steady state: everything due before D taken)`],
    ['node', machine.node],
    ['cpu', `${machine.cpu}, ${machine.cores} cores`],
    ['memory', `${machine.memoryGiB} GiB`],
    ['sqlite', `${input.sqliteVersion} (WAL, synchronous NORMAL)`],
    ['redis', `${input.redisVersion} (private, loopback, AOF on, appendfsync everysec)`],
    ['worker concurrency', String(concurrency)],
    ['load average 1/5/15 min', `${input.machineAtStart.loadAverage.join(' ')} at start, ${machine.loadAverage.join(' ')} at end`],
    ['build', `generate ${build.generateSeconds.toFixed(1)} s, importFile ${build.importSeconds.toFixed(1)} s (${formatRate(N / build.importSeconds)}/s), steady state ${build.steadyStateSeconds.toFixed(1)} s for ${formatCount(build.steadiedRows)} rows`],
    ['database', `${(statSize(input.databaseFile) / 2 ** 20).toFixed(0)} MiB, ${formatCount(build.partners)} partners`],
    ['RSS before the stages', `${input.baselineRssMb} MB (the import ran in a child process)`],
  ];
  notes.push(`Redis: redis-benchmark SET ${formatRate(setRps)}/s is ${ratio(setRps, addBulkCeiling)} the addBulk ceiling of ${formatRate(addBulkCeiling ?? 0)} jobs/s: a BullMQ add is one Lua script (addStandardJob: id counter, job hash, events stream, wait list) plus its Node-side encoding`);
  const text = [
    '',
    'conditions',
    ...conditions.map(([k, v]) => `  ${k.padEnd(24)} ${v}`),
    '',
    formatTable(['stage', 'role', 'count', 'wall s', 'cpu s', 'redis cpu s', 'sink cpu s', 'rate', 'measured ÷ this', 'peak RSS MB'], rows),
    '',
    'rate: per wall-clock second; cpu s: this process\'s user + system time; redis cpu s, sink cpu s: those of redis-server and of the SMTP sink process (INFO cpu, process.cpuUsage);',
    'measured ÷ this: how many times the measured path\'s rate is this baseline\'s (> 1× faster than naive; ≤ 1× of a ceiling).',
    '',
    'notes',
    ...notes.map((n) => `  - ${n}`),
    '',
    'aims (reported, not asserted)',
    ...aims.map((a) => `  ${a.aim.padEnd(50)} ${`${formatCount(a.value)} ${a.unit}`.padStart(14)}  ${a.isMet ? 'met' : 'MISSED'}`),
    '',
  ].join('\n');
  const json = {
    generatedAt: new Date().toISOString(),
    options: { subscriptions: N, worstCase: M, notices: K, concurrency, mjmlSample, typicalDay },
    conditions: Object.fromEntries(conditions),
    machine,
    build,
    stages,
    scanMemory,
    redisBenchmark: input.redisBench,
    notes,
    aims,
  };
  return { text, json };
}

function statSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

await main();
process.exit(0);
