import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const secretKeys = ['password', 'token', 'secret', 'adminToken', 'smtpUrl', 'redisUrl', 'paymentWebhookSecret', 'authorization'];

/**
 * Where secrets may sit in what is logged: at the top of a log object (`log.info(config)`), one
 * level down (`{config}`, `{connection}`, `{headers}`) or two (`{req: {headers}}`).
 * SMTP_URL and REDIS_URL carry their password, so the whole URL goes.
 */
export const redactedPaths = secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** One logger for the process; jobs get children `{queue, job, jobId, subscription}`. */
export function createLogger(level: string, options: { pretty?: boolean; destination?: DestinationStream } = {}): Logger {
  const pretty = options.pretty ?? (options.destination ? false : process.stderr.isTTY);
  return pino(
    {
      level,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    options.destination ??
      (pretty ? pino.transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:standard' } }) : pino.destination(2)),
  );
}
