import type { Command } from 'commander';
import { describeSubscription, type SubscriptionDescription } from '../../ops/describe.js';
import { escapeControls } from '../../policy/limits.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';

function printHuman(d: SubscriptionDescription): void {
  const offer = d.offer === 'action_pack' ? 'Action Pack' : `competency ${d.competency?.area} (${d.competency?.level})`;
  const lines = [
    `${d.id}  ${offer}  partner ${d.partner.id}${d.partner.name ? ` (${d.partner.name})` : ''}`,
    `  status        ${d.summary}`,
    `  anniversary   ${d.anniversary}   (purchased ${d.purchasedOn})`,
  ];
  if (d.benefitsEndOn !== null) {
    // R11: a cancelled subscription reaches no reminder, window or lapse; only its benefits' end.
    lines.push(`  cancelled     on ${d.cancelledOn}${d.cancelTicket ? ` (ticket ${d.cancelTicket})` : ''}`);
    lines.push(`  benefits end  ${d.benefitsEndOn}`);
  } else {
    lines.push(`  reminders     ${d.remindBeforeOn} (before), ${d.remindAfterOn} (after, if not renewed)`);
    lines.push(`  window        ${d.windowOpens} … ${d.windowCloses}`);
    lines.push(d.lapsedOn ? `  lapsed        on ${d.lapsedOn}` : `  lapses on     ${d.lapsesOn} unless renewed`);
  }
  lines.push(`  auto-renew    ${d.autoRenew ? `on (${d.paymentMethod ?? 'no payment method'})` : 'off'}`);
  if (d.offer === 'competency') lines.push(`  requirements  ${d.requirementsMet ? 'met' : 'not met'}`);
  if (d.pendingInvoice) lines.push(`  pending       invoice ${d.pendingInvoice} awaiting payment${d.payBy ? `, last day to pay ${d.payBy}` : ''}`);
  for (const e of d.exceptions) {
    lines.push(
      `  exception     ${e.id}: ${e.isEligible ? `requirements waived until ${e.requirementsWaivedUntil}, reactivation until ${e.reactivationDeadline}` : 'not eligible until the partner moves to Partner Center'}`,
    );
  }
  lines.push(`  due on ${d.asOf}  ${d.dueOnAsOf.length ? d.dueOnAsOf.join(', ') : 'nothing'}${d.nextDueOn ? `   (next check ${d.nextDueOn})` : ''}`);
  lines.push('  actions');
  if (d.actions.length === 0) lines.push('    none yet');
  for (const a of d.actions) lines.push(`    ${a.effectiveOn}  ${a.action.padEnd(13)} ${a.outcome.padEnd(16)} cycle ${a.anniversary}${a.detail ? `  ${a.detail}` : ''}`);
  if (d.notices.length > 0) lines.push('  notices');
  for (const n of d.notices) lines.push(`    ${n.sentAt ?? '-'}  ${n.kind.padEnd(19)} ${n.status.padEnd(13)} ${n.recipients.join(', ') || '(no recipient)'}`);
  if (d.invoices.length > 0) lines.push('  invoices');
  for (const i of d.invoices) {
    lines.push(`    ${i.number}  ${i.purpose.padEnd(12)} ${(i.amountMinor / 100).toFixed(2)} ${i.currency}  ${i.method}  ${i.status}${i.failureReason ? ` (${i.failureReason})` : ''}  issued ${i.issuedOn}`);
  }
  if (d.audit.length > 0) lines.push('  history');
  for (const a of d.audit) lines.push(`    ${a.at}  ${a.event}  by ${a.actor}${a.actorRef ? ` ${a.actorRef}` : ''}${a.detail ? `  ${JSON.stringify(a.detail)}` : ''}`);
  // Names, tickets and audit details are stored text: an ESC or a line break in one is shown, not obeyed.
  process.stdout.write(`${lines.map((line) => escapeControls(line)).join('\n')}\n`);
}

export function registerShow(program: Command, context: CliContext): void {
  program
    .command('show')
    .description('one subscription: status, dates, exceptions, every action and notice')
    .argument('<id>', 'subscription id')
    .option('--as-of <date>', 'status as of this day (YYYY-MM-DD) instead of today')
    .option('--json', 'print one JSON document')
    .action(async (id: string, options: { asOf?: string; json?: boolean }) => {
      const description = await describeSubscription((await context.existingStore()), id, context.asOf(options.asOf));
      if (options.json) printJson(description);
      else printHuman(description);
    });
}
