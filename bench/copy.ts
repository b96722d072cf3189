/**
 * The copies of the configured SQLite database: `lifecycle simulate`'s sandbox and `lifecycle db copy`.
 *
 *   node --import tsx bench/copy.ts [--subscriptions N]
 *
 * Generates N subscriptions (about N/4 partners), imports them into a fresh database, then
 * times `copyDatabase` (the SQLite online backup API from a read-only connection, what `simulate`
 * runs) against `VACUUM INTO` and a plain file copy, for comparison; then `copyStore` (what
 * `lifecycle db copy --to postgres://…` runs) into a new PostgreSQL database on the server
 * TEST_DATABASE_URL names (default postgres://postgres@127.0.0.1:5432/postgres), when it answers.
 * Aim: a 1,000,000-subscription database copies in seconds; into PostgreSQL, in minutes.
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importFile } from '../src/import/import-file.js';
import { addDays } from '../src/policy/dates.js';
import { sql } from 'drizzle-orm';
import { copyDatabase, copyStore } from '../src/store/copy.js';
import { connectStore, openStore } from '../src/store/db.js';
import { createTestDatabase, probePostgres } from '../support/postgres.js';
import { writeDatasetFile } from './lib/dataset.js';
import { describeMachine, formatCount, formatRate, formatTable, readCount } from './lib/measure.js';

const { values } = parseArgs({ options: { subscriptions: { type: 'string' } } });
const subscriptionCount = readCount(values.subscriptions, 'subscriptions', 1_000_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-bench-copy-'));
const scanDay = '2019-09-02';

async function time(run: () => unknown): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

try {
  const dataset = path.join(dir, 'dataset.json');
  process.stderr.write(`generating ${formatCount(subscriptionCount)} subscriptions …\n`);
  await writeDatasetFile(dataset, {
    subscriptions: subscriptionCount,
    anniversaryOf: (r) => addDays(scanDay, Math.floor(r * 365)),
  });
  const source = path.join(dir, 'lifecycle.db');
  const store = openStore(source);
  process.stderr.write('importing …\n');
  await importFile(store, dataset, new Date());
  store.close();
  rmSync(dataset);
  const sizeMiB = statSync(source).size / 2 ** 20;
  const reader = openStore(source, { mode: 'read-only' });
  let rowCount = 0;
  for (const table of ['partners', 'contacts', 'subscriptions', 'audit_events']) {
    rowCount += (await reader.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${sql.identifier(table)}`))!.n;
  }
  await reader.close();

  const rows: string[][] = [];
  const addRow = (name: string, seconds: number, sizeBytes: number) => {
    rows.push([name, `${seconds.toFixed(2)} s`, `${formatRate(rowCount / seconds)}`, `${(sizeBytes / 2 ** 20).toFixed(0)} MiB`]);
    process.stderr.write(`  ${name}: ${seconds.toFixed(2)} s\n`);
  };
  const measureCopy = async (name: string, run: (target: string) => unknown) => {
    const target = path.join(dir, `${name.replace(/\W+/g, '-')}.db`);
    const seconds = await time(() => run(target));
    addRow(name, seconds, statSync(target).size);
    rmSync(target);
  };
  await measureCopy('copyDatabase (backup API, read-only source)', (target) => copyDatabase(source, target));
  await measureCopy('VACUUM INTO (rebuilds every index)', (target) => {
    const reader = openStore(source, { mode: 'read-only' });
    reader.sqlite.prepare('VACUUM INTO ?').run(target);
    reader.close();
  });
  await measureCopy('plain file copy (no snapshot: not safe while a daemon writes)', (target) => copyFileSync(source, target));

  const postgres = await probePostgres();
  if (postgres.isAvailable) {
    const database = await createTestDatabase();
    try {
      const from = openStore(source, { mode: 'read-only' });
      const into = await connectStore({ url: database.url });
      try {
        const seconds = await time(() => copyStore(from, into));
        const { size } = (await into.get<{ size: number }>(sql`SELECT pg_database_size(current_database()) AS size`))!;
        addRow('copyStore into PostgreSQL (lifecycle db copy)', seconds, size);
      } finally {
        await from.close();
        await into.close();
      }
    } finally {
      await database.drop();
    }
  } else process.stderr.write(`  copyStore into PostgreSQL: skipped (${postgres.reason})\n`);

  const machine = describeMachine();
  process.stdout.write(`${machine.cpu} × ${machine.cores}, Node ${machine.node}, load ${machine.loadAverage.join(' ')}\n`);
  process.stdout.write(`database of ${formatCount(subscriptionCount)} subscriptions, ${formatCount(rowCount)} rows: ${sizeMiB.toFixed(0)} MiB\n\n`);
  process.stdout.write(`${formatTable(['copy', 'time', 'rows/s', 'size'], rows)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
