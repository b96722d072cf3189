import type { Command } from 'commander';
import { findDue } from '../../scan/find-due.js';
import type { CliContext } from '../context.js';

export interface ScanOptions {
  asOf?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Streams the dry-run listing: a day with 100,000 actions is printed, not held. */
async function printDryRun(context: CliContext, asOf: string, isJson: boolean): Promise<void> {
  const store = await context.existingStore(); // before the first line: a missing database prints only its error
  const out = process.stdout;
  let count = 0;
  if (isJson) out.write(`{"asOf":${JSON.stringify(asOf)},"actions":[`);
  else out.write(`due on ${asOf}:\n`);
  let buffer = '';
  for await (const { subscription, due } of findDue(store, asOf)) {
    for (const action of due) {
      if (isJson) {
        buffer += `${count === 0 ? '' : ','}\n  ${JSON.stringify({ subscription: subscription.id, action, anniversary: subscription.anniversaryOn })}`;
      } else {
        buffer += `  ${action.padEnd(14)} ${subscription.id.padEnd(16)} anniversary ${subscription.anniversaryOn}\n`;
      }
      count++;
    }
    if (buffer.length > 1 << 16) {
      out.write(buffer);
      buffer = '';
    }
  }
  out.write(buffer);
  if (isJson) out.write(count === 0 ? ']}\n' : '\n]}\n');
  else out.write(count === 0 ? '  nothing\n' : `${count} action${count === 1 ? '' : 's'} due (dry run: nothing was enqueued)\n`);
}

export function registerScan(program: Command, context: CliContext, runScan: (asOf: string | undefined, options: ScanOptions) => Promise<void>): void {
  program
    .command('scan')
    .description('work out what is due and have the running daemon enqueue it (--dry-run: only list it)')
    .option('--as-of <date>', 'scan as of this day (YYYY-MM-DD) instead of today')
    .option('--dry-run', 'only list what is due: no Redis, no effects')
    .option('--json', 'print one JSON document')
    .action(async (options: ScanOptions) => {
      const asOf = context.asOf(options.asOf);
      if (options.dryRun) return await printDryRun(context, asOf, options.json === true);
      await runScan(asOf, options);
    });
}
