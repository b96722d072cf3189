/**
 * Builds the end-to-end benchmark's database: N subscriptions through importFile (the real import
 * path), then brought to a steady state as of the typical day D — every action whose first day
 * came before D taken — so that a scan of D finds one ordinary day's work and no backlog: about
 * N/365 reminders before, N/365 × 0.2 auto-renewals, N/365 × 0.8 reminders after and as many lapses.
 * Runs in a child process of bench/e2e.ts, so that the import's garbage does not count in the
 * scan's memory figures.
 */
import path from 'node:path';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importFile, type ImportSummary } from '../../src/import/import-file.js';
import { addDays } from '../../src/policy/dates.js';
import { findNextDueOn } from '../../src/policy/due.js';
import { markAllDone } from '../../src/policy/transitions.js';
import { remindAfterDays, remindBeforeDays } from '../../src/policy/cycle.js';
import { openStore } from '../../src/store/db.js';
import { toSubscription, type SubscriptionRow } from '../../src/store/rows.js';
import { writeDatasetFile } from './dataset.js';

export interface BuildOptions {
  dir: string;
  databaseFile: string;
  subscriptions: number;
  /** The typical day D the data set is in a steady state for. */
  typicalDay: string;
}

export interface BuildResult {
  partners: number;
  subscriptions: number;
  generateSeconds: number;
  importSeconds: number;
  steadyStateSeconds: number;
  /** Rows whose earlier actions were marked taken (anniversary before D). */
  steadiedRows: number;
  jsonBytes: number;
  summary: ImportSummary;
}

/**
 * Anniversaries over a year around D: auto-renewing ones in D … D + 364 (one whose A came before
 * D renewed on it and moved a year on), the others in D − 31 … D + 333 (inside their window, or
 * lapsing on D).
 */
export function anniversaryAround(day: string) {
  return (r: number, isAutoRenew: boolean) => addDays(day, (isAutoRenew ? 0 : -31) + Math.floor(r * 365));
}

export async function buildE2eDatabase(options: BuildOptions): Promise<BuildResult> {
  const json = path.join(options.dir, 'subscriptions.json');
  let started = performance.now();
  const generated = await writeDatasetFile(json, {
    subscriptions: options.subscriptions,
    anniversaryOf: anniversaryAround(options.typicalDay),
    autoRenewShare: 0.2,
    payments: { visa: 0.8, declined: 0.05, expired: 0.02, bankTransfer: 0.13, none: 0 },
    seed: 7,
  });
  const generateSeconds = (performance.now() - started) / 1000;
  const { statSync } = await import('node:fs');
  const jsonBytes = statSync(json).size;

  const store = openStore(options.databaseFile);
  started = performance.now();
  const summary = await importFile(store, json, new Date(`${addDays(options.typicalDay, -60)}T12:00:00Z`));
  const importSeconds = (performance.now() - started) / 1000;

  // Steady state as of D − 1: the reminder before went for every anniversary before D + 15, the
  // reminder after for those before D − 23 (auto-renewing ones all have A ≥ D: none renewed yet).
  started = performance.now();
  const update = store.sqlite.prepare('UPDATE subscriptions SET done_mask = ?, next_due_on = ? WHERE id = ?');
  const rows = store.sqlite
    .prepare('SELECT * FROM subscriptions WHERE anniversary_on < ?')
    .all(addDays(options.typicalDay, remindBeforeDays)) as SubscriptionRow[];
  store.sqlite.transaction(() => {
    for (const row of rows) {
      const subscription = toSubscription(row);
      const isRemindedAfter = addDays(subscription.anniversaryOn, remindAfterDays) < options.typicalDay;
      const steadied = markAllDone(subscription, isRemindedAfter ? ['remind-before', 'remind-after'] : ['remind-before']);
      update.run(steadied.doneMask, findNextDueOn(steadied), subscription.id);
    }
  })();
  const steadyStateSeconds = (performance.now() - started) / 1000;
  store.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  store.sqlite.exec('ANALYZE');
  store.close();
  return { ...generated, generateSeconds, importSeconds, steadyStateSeconds, steadiedRows: rows.length, jsonBytes, summary };
}

/** Runs buildE2eDatabase in a child process and returns its result. */
export async function buildE2eDatabaseInChild(options: BuildOptions): Promise<BuildResult> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = new Promise<BuildResult>((resolve) => child.once('message', (message) => resolve(message as BuildResult)));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`building the benchmark database failed (exit status ${String(code)})`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = JSON.parse(process.argv[2]!) as BuildOptions;
  const result = await buildE2eDatabase(options);
  process.send!(result, () => process.exit(0));
}
