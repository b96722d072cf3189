import type { Command } from 'commander';
import { checkImportFile, importFile, type ImportSummary } from '../../import/import-file.js';
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
      // Before the store opens: a mistyped path creates no database or data directory.
      await checkImportFile(file);
      const progress = process.stderr.isTTY ? createProgressLine() : undefined;
      let summary;
      try {
        summary = await importFile((await context.store()), file, new Date(), { onProgress: progress?.update });
      } finally {
        progress?.clear();
      }
      const seconds = (performance.now() - started) / 1000;
      if (options.json) return printJson({ ...summary, seconds });
      const line = (what: string, c: ImportSummary['partners']) =>
        `${what}: ${c.created.toLocaleString('en')} created, ${c.updated.toLocaleString('en')} updated, ${c.unchanged.toLocaleString('en')} unchanged`;
      process.stdout.write(
        `imported ${file} (${summary.format}) in ${seconds.toFixed(2)} s\n  ${line('partners', summary.partners)}\n  ${line('subscriptions', summary.subscriptions)}\n`,
      );
    });
}

/**
 * On a terminal, a line on stderr that counts the records read while a large import runs
 * (redrawn at most four times a second, erased at the end); never on a pipe or in a file.
 */
function createProgressLine() {
  // An import done within the first quarter second shows nothing.
  let shownAt = performance.now();
  let isShown = false;
  return {
    update(read: { partners: number; subscriptions: number; problems: number }): void {
      const now = performance.now();
      if (now - shownAt < 250) return;
      shownAt = now;
      isShown = true;
      const problems = read.problems > 0 ? `, ${read.problems.toLocaleString('en')} problems` : '';
      process.stderr.write(`\rreading: ${read.subscriptions.toLocaleString('en')} subscriptions, ${read.partners.toLocaleString('en')} partners${problems}\u001b[K`);
    },
    clear(): void {
      if (isShown) process.stderr.write('\r\u001b[K');
    },
  };
}
