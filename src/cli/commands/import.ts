import type { Command } from 'commander';
import { importFile } from '../../import/import-file.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';

export function registerImport(program: Command, context: CliContext): void {
  program
    .command('import')
    .description('import partners and subscriptions from a JSON or CSV file (all or nothing)')
    .argument('<file>', 'a .json or .csv file (README "Data in")')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      const started = performance.now();
      const summary = await importFile(context.store, file, new Date());
      const seconds = (performance.now() - started) / 1000;
      if (options.json) return printJson({ ...summary, seconds });
      const line = (what: string, c: Record<string, number>) =>
        `${what}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged`;
      process.stdout.write(
        `imported ${file} (${summary.format}) in ${seconds.toFixed(2)} s\n  ${line('partners', summary.partners)}\n  ${line('subscriptions', summary.subscriptions)}\n`,
      );
    });
}
