import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { describePostgresUrl } from '../../store/postgres.js';
import { simulateInSandbox, type SimulatedDay } from '../../simulate.js';
import type { CliContext } from '../context.js';
import { parseDate, printJson } from '../context.js';

interface SimulateOptions {
  from: string;
  to: string;
  into?: string;
  intoDatabase?: string;
  json?: boolean;
}

export function printDay(day: SimulatedDay): void {
  if (day.actions.length === 0) return;
  const lines = day.actions.map((a) => `  ${a.action.padEnd(13)} ${a.subscription.padEnd(10)} cycle ${a.anniversary}  → ${a.outcome}`);
  process.stdout.write(`${day.date}\n${lines.join('\n')}\n`);
}

export function parseRange(fromFlag: string, toFlag: string): { from: string; to: string } {
  const from = parseDate('--from', fromFlag);
  const to = parseDate('--to', toFlag);
  if (to < from) throw new InputError(`--to ${to} is before --from ${from}`);
  return { from, to };
}

/** A shell word as typed: quoted only when it needs to be. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function registerSimulate(program: Command, context: CliContext): void {
  program
    .command('simulate')
    .description('time-lapse in a sandbox: copy the configured data, then scan each day and run every job through real workers')
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD)')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD)')
    .option('--into <dir>', "the sandbox's data directory, new or empty (default: a new temporary directory)")
    .option('--into-database <url>', "hold the sandbox's data in this PostgreSQL database (postgres://…/DB: existing and empty) instead of an SQLite file")
    .option('--json', 'print one JSON document')
    .action(async (options: SimulateOptions) => {
      const range = parseRange(options.from, options.to);
      const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
      const say = (line: string) => process.stderr.write(`${line}\n`);
      const { database: source } = context.config;
      const configured = source.kind === 'sqlite' ? source.file : describePostgresUrl(source.url);
      const { dataDir, location, days } = await simulateInSandbox(context.config, log, range, {
        ...(options.into !== undefined ? { into: options.into } : {}),
        ...(options.intoDatabase !== undefined ? { intoDatabase: options.intoDatabase } : {}),
        onSandbox: (dir, into) => {
          say(`simulate: sandbox in ${dir}${into.startsWith(dir) ? '' : `, its data in ${into}`} (copy of ${configured}; the configured data is not changed)`);
          if (context.config.paymentGateway === 'webhook') say('simulate: PAYMENT_GATEWAY=webhook is not called (no card is charged): renewals wait for payment, as with manual');
        },
        ...(options.json ? {} : { onDay: printDay }),
      });
      if (options.json) printJson({ days });
      const relative = path.relative(process.cwd(), dataDir);
      const shown = quote(relative.startsWith('..') || path.isAbsolute(relative) ? dataDir : relative || '.');
      say(`simulate: done; emails in ${path.join(dataDir, 'outbox')}/. Read the sandbox with:`);
      // The sandbox's own store, whatever DATABASE_URL the shell has (the password, if any, is the user's to add).
      const database = options.intoDatabase !== undefined ? `DATABASE_URL=${quote(location)} ` : context.config.database.kind === 'postgres' ? 'DATABASE_URL= ' : '';
      say(`  ${database}LIFECYCLE_DATA_DIR=${shown} lifecycle show ID`);
      say(`  ${database}LIFECYCLE_DATA_DIR=${shown} lifecycle status`);
    });
}
