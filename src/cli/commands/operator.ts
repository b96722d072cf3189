import type { Command } from 'commander';
import os from 'node:os';
import { createGateway } from '../../billing/gateway.js';
import {
  cancelSubscription,
  confirmPayment,
  reactivateSubscription,
  renewSubscription,
  type OperatorDeps,
  type OperatorResult,
} from '../../operator/actions.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';
import { requestDelivery, requestEventDelivery } from '../queue-client.js';

async function buildDeps(context: CliContext): Promise<OperatorDeps> {
  return {
    store: await context.existingStore(),
    config: context.config,
    gateway: createGateway(context.config),
    now: () => new Date(),
    operator: process.env.LIFECYCLE_OPERATOR ?? os.userInfo().username,
  };
}

async function report(context: CliContext, result: OperatorResult, isJson: boolean): Promise<void> {
  const delivery = result.messageId ? await requestDelivery(context, result.messageId) : undefined;
  await requestEventDelivery(context);
  if (isJson) return printJson({ ...result, ...(delivery ? { delivery } : {}) });
  process.stdout.write(`${result.subscription}: ${result.message}${delivery ? `\n  renewed notice: ${delivery}` : ''}\n`);
}

export function registerOperatorCommands(program: Command, context: CliContext): void {
  program
    .command('renew')
    .description('renew inside the window on the partner\'s behalf (R6, R9): new anniversary A + 365 days')
    .argument('<id>', 'subscription id')
    .option('--as-of <date>', 'the day of the renewal (YYYY-MM-DD), today by default')
    .option('--json', 'print one JSON document')
    .action(async (id: string, options: { asOf?: string; json?: boolean }) => {
      await report(context, await renewSubscription(await buildDeps(context), id, context.asOf(options.asOf)), options.json === true);
    });
  program
    .command('cancel')
    .description('cancel from a support request (R11): benefits end at the anniversary, or that day inside the renewal window')
    .argument('<id>', 'subscription id')
    .requiredOption('--ticket <ticket>', 'the support request id')
    .option('--as-of <date>', 'the day of the cancellation (YYYY-MM-DD), today by default')
    .option('--json', 'print one JSON document')
    .action(async (id: string, options: { ticket: string; asOf?: string; json?: boolean }) => {
      await report(context, await cancelSubscription(await buildDeps(context), id, options.ticket, context.asOf(options.asOf)), options.json === true);
    });
  program
    .command('reactivate')
    .description('reactivate a lapsed subscription where an exception allows it (R14)')
    .argument('<id>', 'subscription id')
    .option('--as-of <date>', 'the day of the reactivation (YYYY-MM-DD), today by default')
    .option('--json', 'print one JSON document')
    .action(async (id: string, options: { asOf?: string; json?: boolean }) => {
      await report(context, await reactivateSubscription(await buildDeps(context), id, context.asOf(options.asOf)), options.json === true);
    });
  const payments = program.command('payments').description('invoices and payments');
  payments
    .command('confirm')
    .description('confirm a pending invoice is paid (bank transfer, manual gateway): its renewal takes effect')
    .argument('<invoice>', 'invoice number, e.g. INV-2019-000003')
    .option('--as-of <date>', 'the day the payment arrived (YYYY-MM-DD), today by default')
    .option('--json', 'print one JSON document')
    .action(async (invoice: string, options: { asOf?: string; json?: boolean }) => {
      await report(context, await confirmPayment(await buildDeps(context), invoice, context.asOf(options.asOf)), options.json === true);
    });
  payments.exitOverride();
}
