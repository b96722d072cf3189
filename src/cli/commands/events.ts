import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { maxRedelivery, redeliverEvents } from '../../jobs/queues.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';
import { withQueues } from '../queue-client.js';

/** A feed id as given on the command line: a whole number from 1. */
function readEventId(name: string, value: string, problems: string[]): number {
  if (!/^[0-9]{1,15}$/.test(value) || Number(value) < 1) problems.push(`${name} ${value}: expected an event id (a whole number from 1, the feed's id)`);
  return Number(value);
}

export function registerEvents(program: Command, context: CliContext): void {
  const events = program.command('events').description('lifecycle events sent to EVENTS_WEBHOOK_URL (the feed is GET /api/events)');
  events
    .command('redeliver')
    .description('send events FROM…TO (feed ids) to EVENTS_WEBHOOK_URL again, delivered or not, with their own webhook-id')
    .argument('<from>', 'the first event id')
    .argument('[to]', 'the last event id (FROM by default)')
    .option('--json', 'print one JSON document')
    .action(async (fromText: string, toText: string | undefined, options: { json?: boolean }) => {
      const problems: string[] = [];
      const from = readEventId('FROM', fromText, problems);
      const to = toText === undefined ? from : readEventId('TO', toText, problems);
      if (problems.length === 0 && to < from) problems.push(`TO ${to}: before FROM ${from}`);
      if (problems.length === 0 && to - from >= maxRedelivery) problems.push(`FROM…TO: ${to - from + 1} events; at most ${maxRedelivery} at a time`);
      if (!context.config.eventsWebhookUrl) problems.push('EVENTS_WEBHOOK_URL: unset, so events are not delivered (the feed GET /api/events serves them)');
      if (problems.length > 0) throw new InputError('nothing redelivered', problems);
      const store = await context.existingStore();
      const eventIds = await withQueues(context, ({ actions }) => redeliverEvents(actions, context.config, store, from, to));
      if (options.json) return printJson({ from, to, queued: eventIds.length });
      process.stdout.write(`${eventIds.length} event(s) queued for redelivery (${from}…${to}); the daemon sends them\n`);
    });
}
