import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../app.js';
import { loadConfig, storeTarget, type Config } from '../../config.js';
import { InputError } from '../../errors.js';
import { importFile } from '../../import/import-file.js';
import { createLogger } from '../../log.js';
import { confirmPayment, renewSubscription } from '../../operator/actions.js';
import { readRedisInfo } from '../../redis/embedded.js';
import { runTimeLapse, type SimulatedDay } from '../../simulate.js';
import { connectStore } from '../../store/db.js';
import type { Store } from '../../store/executor.js';
import { readHistory } from '../../store/history.js';
import type { CliContext } from '../context.js';
import { printDay } from './simulate.js';

/** `src/cli/commands` and `dist/cli/commands` are both three levels below the package root. */
const examplesFile = fileURLToPath(new URL('../../../examples/subscriptions.json', import.meta.url));

/** Written into every directory the demo makes: the only kind of directory it ever empties. */
export const demoMarkerFile = '.lifecycle-demo';

/** The CLI context is not used: the demo's configuration and store are its own, whatever the shell says. */
export function registerDemo(program: Command, _context?: CliContext): void {
  program
    .command('demo')
    .description('import the examples into a demo data dir and simulate a renewal season (2019-08-15 … 2019-10-15)')
    .option('--data-dir <dir>', 'where the demo keeps its data: a new directory, or one an earlier demo made (emptied first)', 'data/demo')
    .action(async (options: { dataDir: string }) => {
      const dataDir = prepareDemoDir(path.resolve(options.dataDir));
      // The demo runs on the embedded defaults (its SQLite file, a private Redis, the outbox) and the test payment gateway, whatever the shell says.
      const config = loadConfig({ ...process.env, LIFECYCLE_DATA_DIR: dataDir, PAYMENT_GATEWAY: 'test', SMTP_URL: '', REDIS_URL: '', DATABASE_URL: '' });
      const store = await connectStore(storeTarget(config));
      try {
        await runDemo(config, store);
      } finally {
        await store.close();
      }
    });
}

/**
 * A new directory is made and marked; an existing one is emptied only when an earlier demo
 * marked it (or it is empty). Anything else is refused untouched: `--data-dir .` must not
 * delete a checkout.
 */
function prepareDemoDir(dataDir: string): string {
  const marker = path.join(dataDir, demoMarkerFile);
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new InputError(`--data-dir ${dataDir}: exists and is not a directory`);
    const entries = readdirSync(dataDir);
    if (entries.length > 0 && !existsSync(marker)) {
      throw new InputError(
        `--data-dir ${dataDir}: exists and is not a directory the demo made (no ${demoMarkerFile} in it); nothing was changed: choose a new directory, or remove this one yourself`,
      );
    }
    if (readRedisInfo(dataDir)) throw new InputError(`--data-dir ${dataDir}: a daemon is running on it (stop it first); nothing was changed`);
    for (const entry of entries) {
      if (entry !== demoMarkerFile) rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    }
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(marker, 'A data directory made by `lifecycle demo`: the next demo into it empties it first.\n');
  return dataDir;
}

async function runDemo(config: Readonly<Config>, store: Store): Promise<void> {
  const { dataDir } = config;
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`membership-lifecycle demo: data in ${dataDir}`);
  const summary = await importFile(store, examplesFile, new Date());
  say(`imported ${path.relative(process.cwd(), examplesFile)}: ${summary.partners.created} partners, ${summary.subscriptions.created} subscriptions\n`);
  // In place, not in a sandbox: the demo directory is the demo's own, and `show` reads it afterwards.
  const days: SimulatedDay[] = [];
  days.push(...(await runTimeLapse(config, store, log, { from: '2019-08-15', to: '2019-09-24' }, printDay)));

  // The demo's operator acts on simulated days: its notices are dated the day it acts, like the jobs'.
  // Noon UTC is that day (or the next) in every time zone, so its --as-of is never after its today.
  let operatorDay = '2019-09-25';
  const app = await createApp(config, { role: 'cli', log, store });
  const operator = app.operatorDeps('demo', () => new Date(`${operatorDay}T12:00:00Z`));
  say('\n2019-09-25  operator: lifecycle renew S-7 --as-of 2019-09-25');
  say(`  ${(await renewSubscription(operator, 'S-7', '2019-09-25')).message}`);
  operatorDay = '2019-09-26';
  const pending = (await readHistory(store, 'S-6')).invoices.find((invoice) => invoice.status === 'pending')?.number;
  if (pending) {
    say(`2019-09-26  operator: lifecycle payments confirm ${pending} --as-of 2019-09-26   (S-6's bank transfer arrived)`);
    say(`  ${(await confirmPayment(operator, pending, '2019-09-26')).message}`);
  }
  say('');
  days.push(...(await runTimeLapse(config, store, log, { from: '2019-09-25', to: '2019-10-15' }, printDay)));

  const outcomes = new Map<string, number>();
  for (const action of days.flatMap((d) => d.actions)) outcomes.set(action.outcome, (outcomes.get(action.outcome) ?? 0) + 1);
  const outbox = path.join(dataDir, 'outbox');
  const emails = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
  const shownDir = showPath(dataDir);
  say(`\nseason done: ${[...outcomes].map(([o, n]) => `${n} ${o}`).join(', ')}`);
  say(`${emails.length} emails written to ${showPath(outbox)}/ (open the .eml files in a mail client, or preview a notice:`);
  say('  npx lifecycle preview remind-before --locale zh-TW --out /tmp/remind-before.html)');
  say('look closer:');
  say(`  LIFECYCLE_DATA_DIR=${shownDir} npx lifecycle show S-4 --as-of 2019-10-06`);
  say(`  LIFECYCLE_DATA_DIR=${shownDir} npx lifecycle status`);
}

/** Relative to the working directory when below it, as a user would type it; absolute otherwise. */
function showPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative || '.';
}
