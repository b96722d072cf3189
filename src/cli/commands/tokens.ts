import type { Command } from 'commander';
import { checkTokenRole, createToken, listTokens, revokeToken, type TokenRecord } from '../../store/tokens.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';

function formatTable(records: TokenRecord[]): string {
  const rows = [
    ['NAME', 'ROLE', 'CREATED', 'LAST USED', 'REVOKED'],
    ...records.map((r) => [r.name, r.role, r.createdAt, r.lastUsedAt ?? '—', r.revokedAt ?? '—']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** `lifecycle tokens create|list|revoke`: named admin API tokens, stored as hashes in the database. */
export function registerTokens(program: Command, context: CliContext): void {
  const tokens = program.command('tokens').description('named admin API tokens: viewer (reads) or operator (also acts)');

  tokens
    .command('create')
    .description('make a token; it is printed once, only its hash is kept')
    .argument('<name>', '1 to 64 letters, digits, ".", "_" or "-"; never reused, even once revoked')
    .requiredOption('--role <role>', 'viewer (GET routes only) or operator (every route)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, options: { role: string; json?: boolean }) => {
      const role = checkTokenRole(options.role);
      const { token, record } = await createToken((await context.store()), name, role, new Date());
      if (options.json) return printJson({ ...record, token });
      process.stderr.write(`token "${record.name}" (${record.role}) created; it is shown only now, keep it in a secret store:\n`);
      process.stdout.write(`${token}\n`);
    });

  tokens
    .command('list')
    .description('every token: name, role, created, last used (to the minute), revoked; never the token')
    .option('--json', 'print one JSON document')
    .action(async (options: { json?: boolean }) => {
      const records = await listTokens((await context.existingStore()));
      if (options.json) return printJson({ tokens: records });
      process.stdout.write(records.length ? `${formatTable(records)}\n` : 'no named tokens (lifecycle tokens create NAME --role viewer|operator)\n');
    });

  tokens
    .command('revoke')
    .description('revoke a token: a running daemon refuses it from the next request')
    .argument('<name>', 'the token\'s name')
    .option('--json', 'print one JSON document')
    .action(async (name: string, options: { json?: boolean }) => {
      const record = await revokeToken((await context.existingStore()), name, new Date());
      if (options.json) return printJson(record);
      process.stdout.write(`token "${record.name}" revoked at ${record.revokedAt}; the admin API refuses it from the next request\n`);
    });
}
