/**
 * The sandbox copy of `lifecycle simulate`: how long copying the configured SQLite database takes.
 *
 *   node --import tsx bench/copy.ts [--subscriptions N]
 *
 * Generates N subscriptions (about N/4 partners), imports them into a fresh database, then
 * times `copyDatabase` (the SQLite online backup API from a read-only connection, what `simulate`
 * runs) against `VACUUM INTO` and a plain file copy, for comparison.
 * Aim: a 1,000,000-subscription database copies in seconds.
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importFile } from '../src/import/import-file.js';
import { addDays } from '../src/policy/dates.js';
import { copyDatabase } from '../src/store/copy.js';
import { openStore } from '../src/store/db.js';
import { writeDatasetFile } from './lib/dataset.js';
import { describeMachine, formatCount, formatTable, readCount } from './lib/measure.js';

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

  const rows: string[][] = [];
  const measureCopy = async (name: string, run: (target: string) => unknown) => {
    const target = path.join(dir, `${name.replace(/\W+/g, '-')}.db`);
    const seconds = await time(() => run(target));
    rows.push([name, `${seconds.toFixed(2)} s`, `${(statSync(target).size / 2 ** 20).toFixed(0)} MiB`]);
    process.stderr.write(`  ${name}: ${seconds.toFixed(2)} s\n`);
    rmSync(target);
  };
  await measureCopy('copyDatabase (backup API, read-only source)', (target) => copyDatabase(source, target));
  await measureCopy('VACUUM INTO (rebuilds every index)', (target) => {
    const reader = openStore(source, { mode: 'read-only' });
    reader.sqlite.prepare('VACUUM INTO ?').run(target);
    reader.close();
  });
  await measureCopy('plain file copy (no snapshot: not safe while a daemon writes)', (target) => copyFileSync(source, target));

  const machine = describeMachine();
  process.stdout.write(`${machine.cpu} × ${machine.cores}, Node ${machine.node}, load ${machine.loadAverage.join(' ')}\n`);
  process.stdout.write(`database of ${formatCount(subscriptionCount)} subscriptions: ${sizeMiB.toFixed(0)} MiB\n\n`);
  process.stdout.write(`${formatTable(['copy', 'time', 'size'], rows)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
