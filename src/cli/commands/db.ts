import type { Command } from 'commander';
import { storeTarget } from '../../config.js';
import { copyStore, openCopySource, openCopyTarget, type CopyProgress } from '../../store/copy.js';
import type { CliContext } from '../context.js';

/** `lifecycle db copy --to URL`: the configured store, every table, into an empty database (SQLite → PostgreSQL). */
export function registerDb(program: Command, context: CliContext): void {
  const db = program.command('db').description('the database as a whole');
  db.command('copy')
    .description('copy the configured store, every table, into an empty target, checked by counts')
    .requiredOption('--to <url>', 'postgres://USER@HOST:5432/DB (migrated here), or an SQLite file path or file: URL that does not exist yet')
    .action(async (options: { to: string }) => {
      const source = await openCopySource(storeTarget(context.config), 'lifecycle db copy');
      context.onClose(() => source.close());
      const target = await openCopyTarget(options.to);
      const started = performance.now();
      let counts;
      try {
        counts = await copyStore(source, target.store, { onProgress: process.stderr.isTTY ? showProgress : undefined });
      } catch (error) {
        await target.store.close();
        await target.discard();
        throw error;
      }
      await target.store.close();
      const width = Math.max(...counts.map((count) => count.table.length));
      for (const count of counts) process.stdout.write(`${count.table.padEnd(width)}  ${formatCount(count.source)} → ${formatCount(count.target)}\n`);
      const rows = counts.reduce((sum, count) => sum + count.target, 0);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`copied ${formatCount(rows)} rows in ${counts.length} tables from ${source.location} to ${target.store.location} in ${seconds} s; every count matches\n`);
    });
}

/** A terminal sees each large table advance; a pipe or a log gets only the final lines. */
function showProgress(progress: CopyProgress): void {
  if (progress.total < 50_000) return;
  process.stderr.write(`\r${progress.table} ${formatCount(progress.copied)} / ${formatCount(progress.total)}${progress.copied === progress.total ? '\n' : ''}`);
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
