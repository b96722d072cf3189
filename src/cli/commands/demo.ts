import type { Command } from 'commander';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGateway } from '../../billing/gateway.js';
import { importFile } from '../../import/import-file.js';
import { confirmPayment, renewSubscription } from '../../operator/actions.js';
import type { SimulatedDay } from '../../simulate.js';
import type { CliContext } from '../context.js';
import { runSimulation } from './simulate.js';

/** `src/cli/commands` and `dist/cli/commands` are both three levels below the package root. */
const examplesFile = fileURLToPath(new URL('../../../examples/subscriptions.json', import.meta.url));

export function registerDemo(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('import the examples into a fresh data dir and simulate a renewal season (2019-08-15 … 2019-10-15)')
    .option('--data-dir <dir>', 'where the demo keeps its data (emptied first)', 'data/demo')
    .action(async (options: { dataDir: string }) => {
      const dataDir = path.resolve(options.dataDir);
      rmSync(dataDir, { recursive: true, force: true });
      // The demo runs on the embedded defaults and the test payment gateway, whatever the shell says.
      process.env.LIFECYCLE_DATA_DIR = dataDir;
      process.env.PAYMENT_GATEWAY = 'test';
      delete process.env.SMTP_URL;
      delete process.env.REDIS_URL;
      const say = (line: string) => process.stdout.write(`${line}\n`);
      say(`membership-lifecycle demo: data in ${dataDir}`);
      const summary = await importFile(context.store, examplesFile, new Date());
      say(`imported ${path.relative(process.cwd(), examplesFile)}: ${summary.partners.created} partners, ${summary.subscriptions.created} subscriptions\n`);
      const days: SimulatedDay[] = [];
      days.push(...(await runSimulation(context, '2019-08-15', '2019-09-24', false)));

      const operator = { store: context.store, config: context.config, gateway: createGateway(context.config), now: () => new Date(), operator: 'demo' };
      say('\n2019-09-25  operator: lifecycle renew S-7 --as-of 2019-09-25');
      say(`  ${(await renewSubscription(operator, 'S-7', '2019-09-25')).message}`);
      const pending = context.store.sqlite
        .prepare("SELECT number FROM invoices WHERE subscription_id = 'S-6' AND status = 'pending'")
        .pluck()
        .get() as string | undefined;
      if (pending) {
        say(`2019-09-26  operator: lifecycle payments confirm ${pending} --as-of 2019-09-26   (S-6's bank transfer arrived)`);
        say(`  ${confirmPayment(operator, pending, '2019-09-26').message}`);
      }
      say('');
      days.push(...(await runSimulation(context, '2019-09-25', '2019-10-15', false)));

      const outcomes = new Map<string, number>();
      for (const action of days.flatMap((d) => d.actions)) outcomes.set(action.outcome, (outcomes.get(action.outcome) ?? 0) + 1);
      const outbox = path.join(dataDir, 'outbox');
      const emails = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
      say(`\nseason done: ${[...outcomes].map(([o, n]) => `${n} ${o}`).join(', ')}`);
      say(`${emails.length} emails written to ${path.relative(process.cwd(), outbox)}/ (open the .eml files in a mail client, or preview a notice:`);
      say('  npx lifecycle preview remind-before --locale zh-TW --out /tmp/remind-before.html)');
      say('look closer:');
      say(`  LIFECYCLE_DATA_DIR=${path.relative(process.cwd(), dataDir)} npx lifecycle show S-4 --as-of 2019-10-06`);
      say(`  LIFECYCLE_DATA_DIR=${path.relative(process.cwd(), dataDir)} npx lifecycle status`);
    });
}
