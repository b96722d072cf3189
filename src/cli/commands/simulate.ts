import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { simulate, type SimulatedDay } from '../../simulate.js';
import type { CliContext } from '../context.js';
import { parseDate, printJson } from '../context.js';

export function printDay(day: SimulatedDay): void {
  if (day.actions.length === 0) return;
  const lines = day.actions.map((a) => `  ${a.action.padEnd(13)} ${a.subscription.padEnd(10)} cycle ${a.anniversary}  → ${a.outcome}`);
  process.stdout.write(`${day.date}\n${lines.join('\n')}\n`);
}

export async function runSimulation(context: CliContext, from: string, to: string, isJson: boolean): Promise<SimulatedDay[]> {
  if (to < from) throw new InputError(`--to ${to} is before --from ${from}`);
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  return simulate(context.config, context.store, log, { from, to }, isJson ? undefined : printDay);
}

export function registerSimulate(program: Command, context: CliContext): void {
  program
    .command('simulate')
    .description('time-lapse on the configured data: scan each day and run every job through real workers')
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD)')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD)')
    .option('--json', 'print one JSON document')
    .action(async (options: { from: string; to: string; json?: boolean }) => {
      const days = await runSimulation(context, parseDate('--from', options.from), parseDate('--to', options.to), options.json === true);
      if (options.json) printJson({ days });
    });
}
