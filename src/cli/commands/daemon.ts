import type { Command } from 'commander';
import { startDaemon } from '../../daemon.js';
import { createLogger } from '../../log.js';
import type { CliContext } from '../context.js';

/** A stop takes at most SHUTDOWN_TIMEOUT_MS for the running jobs plus this for the rest. */
const stopGraceMs = 8_000;

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
          // The last resort of the bounded stop: whatever still waits, the process ends.
          setTimeout(() => {
            log.error({ boundMs: config.shutdownTimeoutMs + stopGraceMs }, 'stop exceeded its bound: exiting now');
            log.flush();
            process.exit(1);
          }, config.shutdownTimeoutMs + stopGraceMs).unref();
          daemon.stop().then(resolve, (error: Error) => {
            log.error({ err: error }, 'stop failed');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      log.flush();
      // Reconnect timers of a client whose Redis is gone would keep the process alive.
      setTimeout(() => process.exit(), 1_000).unref();
    });
}
