import type { Command } from 'commander';
import { startDaemon } from '../../daemon.js';
import { createLogger } from '../../log.js';
import type { CliContext } from '../context.js';

export function registerStart(program: Command, context: CliContext): void {
  program
    .command('start')
    .description('run the daemon: daily scan schedule, workers, admin API; stops gracefully on SIGTERM/SIGINT')
    .action(async () => {
      const { config } = context;
      const log = createLogger(config.logLevel);
      const daemon = await startDaemon(config, log);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'signal received');
          daemon.stop().then(resolve, (error: Error) => {
            log.error({ err: error }, 'stop failed');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      log.flush();
    });
}
