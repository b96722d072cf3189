/**
 * Import benchmark on both store backends, side by side.
 *
 *   npm run build && node --import tsx bench/import.ts [--subscriptions N] [--backends sqlite,postgres]
 *
 * Generates N subscriptions (N/4 partners, 1 to 3 contacts each) as SPEC §2 JSON, then on each
 * backend times importFile into an empty database (all created) and the same file again (all
 * unchanged). PostgreSQL: a database of its own on the test server (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), dropped at the end. Aim: ≥ 100,000
 * subscriptions/s at 1,000,000 on each.
 *
 * Like bench/core.ts it runs the built package (dist/), what `lifecycle` runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import type { ImportSummary } from '../src/import/import-file.js';
import { addDays } from '../src/policy/dates.js';
import { createTestDatabase, probePostgres } from '../support/postgres.js';
import { writeDatasetFile } from './lib/dataset.js';

const dist = (module: string) => new URL(`../dist/${module}`, import.meta.url);
if (!existsSync(dist('import/import-file.js'))) {
  process.stderr.write('error: the built package is missing: run `npm run build` first\n');
  process.exit(1);
}
const { importFile } = (await import(dist('import/import-file.js').href)) as typeof import('../src/import/import-file.js');
const { connectStore } = (await import(dist('store/db.js').href)) as typeof import('../src/store/db.js');

const { values } = parseArgs({
  options: {
    subscriptions: { type: 'string', default: '1000000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
  },
});
const subscriptionCount = Number(values.subscriptions!.replace(/[_,]/g, ''));
if (!Number.isInteger(subscriptionCount) || subscriptionCount < 1) {
  process.stderr.write(`error: --subscriptions ${values.subscriptions}: expected a whole number ≥ 1\n`);
  process.exit(2);
}
const backends = values.backends!.split(',').map((b) => b.trim());

interface Row {
  backend: string;
  phase: string;
  seconds: number;
  cpuSeconds: number;
  /** PostgreSQL: CPU seconds of the server processes serving the bench's database (same host only). */
  serverCpuSeconds?: number;
  detail: string;
}

type Executor = import('../src/store/executor.js').Executor;

/** User + system CPU seconds of each server process serving this database, from /proc (Linux, server on this host). */
async function serverCpu(store: Executor): Promise<Map<number, number> | undefined> {
  const backends = await store.all<{ pid: number }>(sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  const cpu = new Map<number, number>();
  try {
    for (const { pid } of backends) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    return undefined;
  }
  return cpu;
}
const rows: Row[] = [];

function describeImport(summary: ImportSummary): string {
  const s = summary.subscriptions;
  const p = summary.partners;
  return `subscriptions ${s.created}/${s.updated}/${s.unchanged}, partners ${p.created}/${p.updated}/${p.unchanged} (created/updated/unchanged)`;
}

async function timeImport(backend: string, phase: string, run: () => Promise<ImportSummary>, server?: Executor): Promise<void> {
  const serverBefore = server ? await serverCpu(server) : undefined;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const summary = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const serverAfter = server ? await serverCpu(server) : undefined;
  let serverCpuSeconds: number | undefined;
  if (serverBefore && serverAfter) {
    serverCpuSeconds = 0;
    for (const [pid, seconds] of serverAfter) serverCpuSeconds += seconds - (serverBefore.get(pid) ?? 0);
  }
  rows.push({ backend, phase, seconds, cpuSeconds: (used.user + used.system) / 1e6, serverCpuSeconds, detail: describeImport(summary) });
  process.stderr.write(`  ${backend} ${phase}: ${seconds.toFixed(2)} s\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-bench-import-'));
  const loadBefore = os.loadavg()[0]!;
  const now = new Date('2019-09-01T12:00:00Z');
  const conditions: [string, string][] = [];
  try {
    const file = path.join(dir, 'subscriptions.json');
    process.stderr.write(`bench: ${subscriptionCount.toLocaleString('en')} subscriptions in ${dir}\n`);
    const generated = await writeDatasetFile(file, {
      subscriptions: subscriptionCount,
      anniversaryOf: (r) => addDays('2019-09-02', Math.floor(r * 365)),
    });
    conditions.push(['file', `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB JSON, ${generated.partners.toLocaleString('en')} partners`]);

    for (const backend of backends) {
      if (backend === 'sqlite') {
        const store = await connectStore({ file: path.join(dir, 'lifecycle.db') });
        try {
          const version = await store.get<{ v: string }>(sql`SELECT sqlite_version() AS v`);
          conditions.push(['sqlite', `${version?.v}, WAL, synchronous=NORMAL, file in ${os.tmpdir()}`]);
          await timeImport('sqlite', 'import, empty DB', () => importFile(store, file, now));
          await timeImport('sqlite', 're-import (unchanged)', () => importFile(store, file, new Date(now.getTime() + 86_400_000)));
        } finally {
          await store.close();
        }
      } else if (backend === 'postgres') {
        const availability = await probePostgres();
        if (!availability.isAvailable) {
          process.stderr.write(`  postgres skipped: ${availability.reason}\n`);
          continue;
        }
        const database = await createTestDatabase();
        try {
          const store = await connectStore({ url: database.url });
          try {
            const version = await store.get<{ server_version: string }>(sql`SHOW server_version`);
            conditions.push(['postgres', `${version?.server_version ?? '?'} at ${availability.url.replace(/\/\/[^@]*@/, '//')}, database ${database.name}`]);
            await timeImport('postgres', 'import, empty DB', () => importFile(store, file, now), store);
            await timeImport('postgres', 're-import (unchanged)', () => importFile(store, file, new Date(now.getTime() + 86_400_000)), store);
          } finally {
            await store.close();
          }
        } finally {
          await database.drop();
        }
      } else {
        throw new Error(`--backends: unknown backend ${backend} (sqlite, postgres)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  conditions.push(['node', process.version]);
  conditions.push(['cpus', `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`]);
  conditions.push(['load average (1 min)', `${loadBefore.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (other processes share the CPUs)`]);
  try {
    conditions.push(['git', execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()]);
  } catch {
    // not a checkout
  }
  const out: string[] = ['', 'conditions'];
  for (const [name, value] of conditions) out.push(`  ${name.padEnd(22)} ${value}`);
  out.push('', `  ${'backend'.padEnd(10)} ${'phase'.padEnd(24)} ${'wall s'.padStart(8)} ${'cpu s'.padStart(7)} ${'server'.padStart(7)} ${'rows/s'.padStart(10)}  detail`);
  for (const row of rows) {
    const rate = Math.round(subscriptionCount / row.seconds).toLocaleString('en');
    const server = row.serverCpuSeconds === undefined ? '-' : row.serverCpuSeconds.toFixed(2);
    out.push(`  ${row.backend.padEnd(10)} ${row.phase.padEnd(24)} ${row.seconds.toFixed(2).padStart(8)} ${row.cpuSeconds.toFixed(2).padStart(7)} ${server.padStart(7)} ${rate.padStart(10)}  ${row.detail}`);
  }
  out.push('  (rows/s: subscriptions per wall-clock second; cpu s: this process, all its threads; server: CPU s of the PostgreSQL');
  out.push('   processes serving the bench database, read from /proc, - when the server is elsewhere)');
  out.push('', 'aims');
  for (const row of rows.filter((r) => r.phase.startsWith('import'))) {
    const rate = subscriptionCount / row.seconds;
    out.push(`  ${row.backend} import ≥ 100,000 subscriptions/s: ${Math.round(rate).toLocaleString('en')}/s  ${rate >= 100_000 ? 'met' : 'MISSED'}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
