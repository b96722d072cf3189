/**
 * Core benchmark: import, dry-run scan and a plain full read at scale.
 *
 *   node --import tsx bench/core.ts [--subscriptions N] [--keep]
 *
 * Generates N subscriptions (about N/4 partners) as JSON and CSV in a temp dir, then times:
 * (a) importFile of the JSON into a fresh database, (b) the dry-run scan (findDue) of one day,
 * (c) `SELECT * FROM subscriptions` iterated, for comparison, (d) a re-import of the same JSON
 * (every record unchanged), (e) importFile of the CSV into another fresh database, and (f) the
 * CLI, `lifecycle import`, of each file into a fresh data dir: what an operator runs, from
 * process start to exit.
 * Aims: import ≥ 100,000 subscriptions/s; the dry-run scan faster than the full read.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ImportSummary } from '../src/import/import-file.js';
import { addDays, addYears } from '../src/policy/dates.js';
import type { LifecycleAction } from '../src/policy/types.js';
import type { SqliteStore as Store } from '../src/store/sqlite.js';
import { createBufferedWriter, createRandom, partnerId, places } from './lib/dataset.js';

/**
 * The import, the store and the scan measured are those of the built package, the code
 * `lifecycle` runs (`npm run bench:core` builds it first), not the TypeScript sources as tsx
 * transforms them on the fly (tsx keeps every function's name at run time; the import's parsing
 * ran about 40 % slower that way).
 */
const dist = (module: string) => new URL(`../dist/${module}`, import.meta.url);
if (!existsSync(dist('cli/main.js'))) {
  process.stderr.write('error: the built package is missing: run `npm run build` (or `npm run bench:core`, which builds first)\n');
  process.exit(1);
}
const { importFile } = (await import(dist('import/import-file.js').href)) as typeof import('../src/import/import-file.js');
const { findDue } = (await import(dist('scan/find-due.js').href)) as typeof import('../src/scan/find-due.js');
const { openStore } = (await import(dist('store/db.js').href)) as typeof import('../src/store/db.js');

const { values } = parseArgs({
  options: {
    subscriptions: { type: 'string', default: '1000000' },
    keep: { type: 'boolean', default: false },
  },
});
const subscriptionCount = Number(values.subscriptions!.replace(/[_,]/g, ''));
if (!Number.isInteger(subscriptionCount) || subscriptionCount < 1) {
  process.stderr.write(`error: --subscriptions ${values.subscriptions}: expected a whole number ≥ 1\n`);
  process.exit(2);
}
const partnerCount = Math.ceil(subscriptionCount / 4);

/**
 * The day after the import, as the first daily scan sees it: every anniversary falls in the year
 * from this day on, so rows due are those with A − 15 ≤ day (about 15/365 of the table).
 */
const scanDay = '2019-09-02';
/** A second day: the daemon was down for 30 days after the import (catch-up scan). */
const catchUpDay = addDays(scanDay, 30);

// ---------------------------------------------------------------- measuring

let peakRss = 0;
function sampleRss(): void {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
}
const sampler = setInterval(sampleRss, 25);
sampler.unref();

interface Phase {
  name: string;
  seconds: number;
  /** User + system CPU time of this process: wall time is inflated when other work shares the cores. */
  cpuSeconds: number;
  rows: number;
  unit: string;
  detail: string;
  /** Of this process; null for a phase run in a child process. */
  peakRssMb: number | null;
}
const phases: Phase[] = [];

interface PhaseResult<T> {
  rows: number;
  detail: string;
  value?: T;
  /** A phase run in a child process: its CPU time, as this process's does not include it. */
  childCpuSeconds?: number;
}

async function measure<T>(name: string, unit: string, run: () => Promise<PhaseResult<T>> | PhaseResult<T>): Promise<T | undefined> {
  if (global.gc) global.gc();
  peakRss = 0;
  sampleRss();
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const { rows, detail, value, childCpuSeconds } = await run();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  sampleRss();
  const cpuSeconds = childCpuSeconds ?? (cpu.user + cpu.system) / 1e6;
  phases.push({ name, seconds, cpuSeconds, rows, unit, detail, peakRssMb: childCpuSeconds === undefined ? peakRss / 2 ** 20 : null });
  process.stderr.write(`  ${name}: ${seconds.toFixed(2)} s\n`);
  return value;
}

// ---------------------------------------------------------------- generating

const areas = ['Cloud Platform', 'Data Analytics', 'Modern Workplace', 'Security', 'Application Development', 'Data Center', 'Collaboration and Content'];
const roleMix = ['mpn_partner_admin', 'global_admin', 'user_admin', 'admin_agent', 'sales_agent', 'other', 'other'] as const;

interface GeneratedPartner {
  id: string;
  name: string;
  locale: string;
  migratedToPartnerCenter: boolean;
  billTo: { line1: string; city: string; region?: string; postalCode?: string; country: string };
  contacts: { name: string; email: string; role: string }[];
}

function generatePartner(i: number, random: () => number): GeneratedPartner {
  const place = places[Math.floor(random() * places.length)]!;
  const id = partnerId(i);
  const contacts = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, c) => ({
    name: place.locale === 'zh-TW' ? `林美${c + 1}` : `Contact ${c + 1}`,
    email: `c${c + 1}@${id.toLowerCase()}.example`,
    role: roleMix[Math.floor(random() * roleMix.length)]!,
  }));
  const billTo: GeneratedPartner['billTo'] = { line1: `${1 + (i % 400)} Example Rd`, city: place.city, country: place.country };
  if ('region' in place) billTo.region = place.region;
  if ('postalCode' in place) billTo.postalCode = place.postalCode;
  return {
    id,
    name: place.locale === 'zh-TW' ? `夥伴 ${i + 1} 有限公司` : `Partner ${i + 1}, Ltd`,
    locale: place.locale,
    migratedToPartnerCenter: random() < 0.8,
    billTo,
    contacts,
  };
}

interface GeneratedSubscription {
  id: string;
  partnerId: string;
  offer: 'action_pack' | 'competency';
  competency?: { area: string; level: 'silver' | 'gold' };
  purchasedOn: string;
  anniversaryOn?: string;
  autoRenew?: boolean;
  requirementsMet?: boolean;
  payment?: { method: 'credit_card'; token: string } | { method: 'bank_transfer'; contactName: string; phone: string; email: string };
}

function generateSubscription(i: number, random: () => number): GeneratedSubscription {
  const partnerId = `P-${String(Math.floor(i / 4) + 1).padStart(7, '0')}`;
  // Anniversaries spread over the year from the scan day; half were bought years ago and renewed since.
  const anniversary = addDays(scanDay, Math.floor(random() * 365));
  const isRenewed = random() < 0.5;
  const purchasedOn = isRenewed ? addYears(anniversary, -(2 + Math.floor(random() * 4))) : addYears(anniversary, -1);
  const subscription: GeneratedSubscription = {
    id: `S-${String(i + 1).padStart(8, '0')}`,
    partnerId,
    offer: random() < 0.4 ? 'action_pack' : 'competency',
    purchasedOn,
  };
  // R1 derives it when the purchase was a year before; a Feb 29 anniversary needs it given.
  if (isRenewed || addYears(purchasedOn, 1) !== anniversary) subscription.anniversaryOn = anniversary;
  if (subscription.offer === 'action_pack') {
    subscription.autoRenew = random() < 0.6;
    const method = random();
    if (method < 0.7) subscription.payment = { method: 'credit_card', token: random() < 0.95 ? 'tok_visa' : 'tok_chargeDeclined' };
    else if (method < 0.85) {
      subscription.payment = { method: 'bank_transfer', contactName: 'Accounts Payable', phone: '+886 2 5555 0100', email: `ap@${partnerId.toLowerCase()}.example` };
    }
  } else {
    subscription.competency = { area: areas[Math.floor(random() * areas.length)]!, level: random() < 0.7 ? 'silver' : 'gold' };
    subscription.requirementsMet = random() < 0.85;
  }
  return subscription;
}

const csvHeader = [
  'partner_id', 'partner_name', 'partner_locale', 'partner_migrated', 'bill_to_line1', 'bill_to_city', 'bill_to_region',
  'bill_to_postal_code', 'bill_to_country', 'contacts', 'subscription_id', 'offer', 'competency_area', 'competency_level',
  'purchased_on', 'anniversary_on', 'auto_renew', 'requirements_met', 'payment_method', 'payment_token',
  'payment_contact_name', 'payment_phone', 'payment_email',
].join(',');

function csvCell(value: string | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(p: GeneratedPartner, s: GeneratedSubscription): string {
  const pay = s.payment;
  return [
    p.id, p.name, p.locale, p.migratedToPartnerCenter, p.billTo.line1, p.billTo.city, p.billTo.region, p.billTo.postalCode,
    p.billTo.country, p.contacts.map((c) => `${c.name} <${c.email}> ${c.role}`).join('; '), s.id, s.offer,
    s.competency?.area, s.competency?.level, s.purchasedOn, s.anniversaryOn, s.autoRenew, s.requirementsMet, pay?.method,
    pay?.method === 'credit_card' ? pay.token : undefined,
    pay?.method === 'bank_transfer' ? pay.contactName : undefined,
    pay?.method === 'bank_transfer' ? pay.phone : undefined,
    pay?.method === 'bank_transfer' ? pay.email : undefined,
  ]
    .map(csvCell)
    .join(',');
}

async function generateFiles(dir: string): Promise<{ json: string; csv: string }> {
  const json = path.join(dir, 'subscriptions.json');
  const csv = path.join(dir, 'subscriptions.csv');
  const jsonOut = createBufferedWriter(createWriteStream(json));
  const csvOut = createBufferedWriter(createWriteStream(csv));
  const partnerRandom = createRandom(1001);
  const subscriptionRandom = createRandom(2002);

  // JSON: partners first, then subscriptions, one record per line.
  await jsonOut.write('{\n"partners": [\n');
  for (let i = 0; i < partnerCount; i++) {
    await jsonOut.write(`${i === 0 ? '' : ',\n'}${JSON.stringify(generatePartner(i, partnerRandom))}`);
  }
  await jsonOut.write('\n],\n"subscriptions": [\n');
  // CSV: one row per subscription with its partner's columns repeated; regenerate partners with the same seed.
  await csvOut.write(`${csvHeader}\n`);
  const csvPartnerRandom = createRandom(1001);
  let partner: GeneratedPartner | null = null;
  for (let i = 0; i < subscriptionCount; i++) {
    const subscription = generateSubscription(i, subscriptionRandom);
    await jsonOut.write(`${i === 0 ? '' : ',\n'}${JSON.stringify(subscription)}`);
    const partnerIndex = Math.floor(i / 4);
    if (!partner || partner.id !== subscription.partnerId) partner = generatePartner(partnerIndex, csvPartnerRandom);
    await csvOut.write(`${csvRow(partner, subscription)}\n`);
  }
  await jsonOut.write('\n]\n}\n');
  await Promise.all([jsonOut.close(), csvOut.close()]);
  return { json, csv };
}

// ---------------------------------------------------------------- phases

/** User + system CPU seconds of this process's waited-for children (Linux /proc; 0 elsewhere). */
function childrenCpuSeconds(): number {
  try {
    // Fields after the command name: state is field 3, cutime and cstime are fields 16 and 17.
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

const cli = new URL('../bin/lifecycle.js', import.meta.url).pathname;

/** `lifecycle import FILE --json` of the built CLI into a fresh data dir, as an operator runs it. */
function importWithCli(file: string, dataDir: string): PhaseResult<never> {
  const cpuBefore = childrenCpuSeconds();
  const run = spawnSync(process.execPath, [cli, 'import', file, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, LIFECYCLE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    maxBuffer: 1 << 24,
  });
  if (run.status !== 0) throw new Error(`lifecycle import exited with ${run.status}: ${run.stderr}`);
  const summary = JSON.parse(run.stdout) as ImportSummary & { seconds: number };
  return {
    rows: subscriptionCount,
    detail: `${describeImport(summary)}; importFile ${summary.seconds.toFixed(2)} s of it`,
    childCpuSeconds: childrenCpuSeconds() - cpuBefore,
  };
}

function databaseBytes(file: string): number {
  return [file, `${file}-wal`].filter((f) => existsSync(f)).reduce((sum, f) => sum + statSync(f).size, 0);
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function describeImport(summary: ImportSummary): string {
  const s = summary.subscriptions;
  const p = summary.partners;
  return `subscriptions ${s.created}/${s.updated}/${s.unchanged}, partners ${p.created}/${p.updated}/${p.unchanged} (created/updated/unchanged)`;
}

async function scanDryRun(store: Store, asOf: string): Promise<{ rows: number; detail: string }> {
  const byAction: Record<LifecycleAction, number> = { 'remind-before': 0, 'auto-renew': 0, 'remind-after': 0, lapse: 0 };
  let rows = 0;
  let missed = 0;
  for await (const { due, missed: late } of findDue(store, asOf)) {
    rows++;
    for (const action of due) byAction[action]++;
    missed += late.length;
    if ((rows & 0xffff) === 0) sampleRss();
  }
  const actions = Object.values(byAction).reduce((a, b) => a + b, 0);
  const read = store.connection.prepare('SELECT count(*) FROM subscriptions WHERE next_due_on IS NOT NULL AND next_due_on <= ?').pluck().get(asOf) as number;
  return {
    rows: read,
    detail: `${actions.toLocaleString('en')} actions (${Object.entries(byAction).map(([a, n]) => `${a} ${n.toLocaleString('en')}`).join(', ')}), ${missed.toLocaleString('en')} missed, ${rows.toLocaleString('en')} subscriptions with something`,
  };
}

function readAll(store: Store): { rows: number; detail: string } {
  let rows = 0;
  let autoRenewing = 0;
  for (const row of store.connection.prepare('SELECT * FROM subscriptions').iterate() as IterableIterator<{ is_auto_renew: number }>) {
    rows++;
    autoRenewing += row.is_auto_renew;
    if ((rows & 0xffff) === 0) sampleRss();
  }
  return { rows, detail: `${autoRenewing.toLocaleString('en')} with auto-renew on` };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-bench-'));
  const loadBefore = os.loadavg()[0]!;
  const now = new Date('2019-09-01T12:00:00Z');
  process.stderr.write(`bench: ${subscriptionCount.toLocaleString('en')} subscriptions in ${dir}\n`);
  try {
    const files = (await measure('generate JSON + CSV', 'subscriptions', async () => {
      const generated = await generateFiles(dir);
      return { rows: subscriptionCount, detail: `${partnerCount.toLocaleString('en')} partners`, value: generated };
    }))!;

    const jsonDb = path.join(dir, 'json.db');
    const store = openStore(jsonDb);
    const sqliteVersion = store.connection.prepare('SELECT sqlite_version()').pluck().get() as string;
    await measure('(a) import JSON, fresh DB', 'subscriptions', async () => {
      const summary = await importFile(store, files.json, now);
      return { rows: subscriptionCount, detail: describeImport(summary) };
    });
    store.connection.pragma('wal_checkpoint(TRUNCATE)');
    const dbSize = databaseBytes(jsonDb);

    await measure(`(b) dry-run scan ${scanDay}`, 'rows read', () => scanDryRun(store, scanDay));
    await measure('(c) full read SELECT *', 'rows read', () => readAll(store));
    await measure(`(b') catch-up scan ${catchUpDay}`, 'rows read', () => scanDryRun(store, catchUpDay));
    await measure('(d) re-import JSON', 'subscriptions', async () => {
      const summary = await importFile(store, files.json, new Date(now.getTime() + 86_400_000));
      return { rows: subscriptionCount, detail: describeImport(summary) };
    });
    store.close();

    const csvDb = path.join(dir, 'csv.db');
    const csvStore = openStore(csvDb);
    await measure('(e) import CSV, fresh DB', 'subscriptions', async () => {
      const summary = await importFile(csvStore, files.csv, now);
      return { rows: subscriptionCount, detail: describeImport(summary) };
    });
    csvStore.close();

    await measure('(f) lifecycle import JSON (CLI)', 'subscriptions', () => importWithCli(files.json, path.join(dir, 'cli-json')));
    await measure('(f) lifecycle import CSV (CLI)', 'subscriptions', () => importWithCli(files.csv, path.join(dir, 'cli-csv')));

    const cpus = os.cpus();
    const conditions = [
      ['subscriptions', subscriptionCount.toLocaleString('en')],
      ['partners', partnerCount.toLocaleString('en')],
      ['node', process.version],
      ['cpu', `${cpus[0]?.model ?? 'unknown'} × ${cpus.length}`],
      ['memory', formatBytes(os.totalmem())],
      ['sqlite', sqliteVersion],
      ['load average (1 min)', `${loadBefore.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (other processes share the CPUs)`],
      ['JSON file', formatBytes(statSync(files.json).size)],
      ['CSV file', formatBytes(statSync(files.csv).size)],
      ['database (JSON import)', formatBytes(dbSize)],
      ['temp dir', dir],
    ];
    const out: string[] = ['', 'conditions'];
    for (const [k, v] of conditions) out.push(`  ${k!.padEnd(24)} ${v}`);
    out.push('', `  ${'phase'.padEnd(32)} ${'wall s'.padStart(7)} ${'cpu s'.padStart(7)} ${'rows'.padStart(11)} ${'rows/s'.padStart(9)} ${'peak RSS'.padStart(9)}  detail`);
    for (const p of phases) {
      out.push(
        `  ${p.name.padEnd(32)} ${p.seconds.toFixed(2).padStart(7)} ${p.cpuSeconds.toFixed(2).padStart(7)} ${p.rows.toLocaleString('en').padStart(11)} ${Math.round(p.rows / p.seconds).toLocaleString('en').padStart(9)} ${(p.peakRssMb === null ? 'child' : `${p.peakRssMb.toFixed(0)} MB`).padStart(9)}  ${p.unit}; ${p.detail}`,
      );
    }
    out.push("  (rows/s is per wall-clock second; cpu s is the process's user + system time, all its threads)");
    const find = (prefix: string) => phases.find((p) => p.name.startsWith(prefix))!;
    const scan = find('(b)').seconds;
    const full = find('(c)').seconds;
    const importAim = (label: string, phase: Phase) => {
      const rate = subscriptionCount / phase.seconds;
      return `  import ≥ 100,000 subscriptions/s, ${label.padEnd(20)} ${Math.round(rate).toLocaleString('en').padStart(8)}/s  ${rate >= 100_000 ? 'met' : 'MISSED'}`;
    };
    out.push(
      '',
      'aims',
      importAim('JSON, importFile', find('(a)')),
      importAim('CSV, importFile', find('(e)')),
      importAim('JSON, lifecycle CLI', find('(f) lifecycle import JSON')),
      importAim('CSV, lifecycle CLI', find('(f) lifecycle import CSV')),
      `  dry-run scan faster than full read    ${scan.toFixed(2)} s vs ${full.toFixed(2)} s  ${scan < full ? 'met' : 'MISSED'}`,
      '',
    );
    process.stdout.write(out.join('\n'));
  } finally {
    clearInterval(sampler);
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
