import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { InputError, RefusedError } from '../errors.js';
import { redact } from '../redact.js';
import { createContext } from './context.js';
import { registerImport } from './commands/import.js';
import { registerScan } from './commands/scan.js';
import { registerShow } from './commands/show.js';
import { registerStart } from './commands/daemon.js';
import { registerStatus } from './commands/status.js';
import { registerSimulate } from './commands/simulate.js';
import { registerOperatorCommands } from './commands/operator.js';
import { registerDemo } from './commands/demo.js';
import { registerRetry } from './commands/retry.js';
import { registerPreview } from './commands/preview.js';
import { registerTokens } from './commands/tokens.js';
import { registerEvents } from './commands/events.js';
import { registerDb } from './commands/db.js';
import { requestScan } from './queue-client.js';
import { printJson } from './context.js';
import { escapeControls } from '../policy/limits.js';
import { explainFutureScan } from '../jobs/scan.js';
import type { ScanResult } from '../jobs/payloads.js';

/** One line saying everything a scan did, the notices it sent again included. */
function describeScan(result: ScanResult): string {
  const notices = `${result.redelivered} pending notice${result.redelivered === 1 ? '' : 's'} redelivered`;
  return `scan #${result.scanId} as of ${result.asOf}: ${result.due} due, ${result.enqueued} enqueued, ${result.missed} missed (recorded as skipped), ${notices}`;
}

/** The version in package.json, read when asked: src/cli and dist/cli are both two levels down. */
function readVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Runs the CLI; resolves to the exit status (SPEC §6: 0 done, 1 refused or failed, 2 usage). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const context = createContext();
  const program = new Command('lifecycle')
    .description('Runs the yearly lifecycle of partner-program membership offers (Action Pack, competencies).')
    .version(readVersion(), '-V, --version', 'print the version')
    .exitOverride()
    // Commander quotes the words it could not parse: a control character among them is shown, not obeyed.
    .configureOutput({ outputError: (text, write) => write(escapeControls(text, true)) })
    .showHelpAfterError('(lifecycle --help lists the commands)');
  registerStart(program, context);
  registerImport(program, context);
  registerScan(program, context, async (asOf, options) => {
    const refusal = explainFutureScan(asOf!, context.asOf(undefined));
    if (refusal) throw new InputError(`--as-of ${refusal}`);
    const result = await requestScan(context, asOf!);
    if (options.json) return printJson(result);
    process.stdout.write(result.skipped ? `${result.skipped}\n` : `${describeScan(result)}\n`);
  });
  registerSimulate(program, context);
  registerShow(program, context);
  registerOperatorCommands(program, context);
  registerPreview(program);
  registerStatus(program, context);
  registerRetry(program, context);
  registerEvents(program, context);
  registerDemo(program, context);
  registerTokens(program, context);
  registerDb(program, context);
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error);
  } finally {
    await context.close();
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // `--help`, `help`, `--version`: done. The help commander shows for a missing (sub)command is a usage error.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
    return 2;
  }
  // Secrets are hidden; a problem may quote stored or imported text, whose control characters are
  // shown escaped, so each problem stays one line and no escape sequence reaches the terminal.
  const write = (line: string) => process.stderr.write(`error: ${escapeControls(redact(line))}\n`);
  if (error instanceof ConfigError) {
    for (const problem of error.problems) write(problem);
    return 1;
  }
  if (error instanceof InputError) {
    for (const problem of error.problems) write(problem);
    write(error.message);
    return 1;
  }
  if (error instanceof RefusedError) {
    write(`refused (${error.rule}): ${error.message}`);
    return 1;
  }
  write(error instanceof Error ? error.message : String(error));
  if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) process.stderr.write(`${redact(error.stack ?? '')}\n`);
  return 1;
}
