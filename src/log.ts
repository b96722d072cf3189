import { pino, type Logger } from 'pino';

export type { Logger };

/** One logger for the process; jobs get children `{queue, job, jobId, subscription}`. */
export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY;
  return pino(
    {
      level,
      redact: { paths: ['*.password', '*.token', '*.secret', '*.adminToken', '*.smtpUrl', '*.redisUrl', 'config.paymentWebhookSecret'], censor: '[redacted]' },
      base: { pid: process.pid },
    },
    pretty ? pino.transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:standard' } }) : pino.destination(2),
  );
}
