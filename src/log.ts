import { pino, type DestinationStream, type Logger } from 'pino';
import { redact, redactError, redactValue } from './redact.js';

export type { Logger };

const secretKeys = ['password', 'token', 'secret', 'adminToken', 'smtpUrl', 'redisUrl', 'paymentWebhookUrl', 'paymentWebhookSecret', 'authorization', 'cookie'];

/**
 * Where secrets may sit in what is logged: at the top of a log object (`log.info(config)`), one
 * level down (`{config}`, `{connection}`, `{headers}`) or two (`{req: {headers}}`).
 * SMTP_URL and REDIS_URL carry their password, so the whole URL goes.
 */
export const redactedPaths = secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** Errors as pino logs them, with URL passwords and configured secrets hidden (an ioredis or fetch error may quote a URL). */
function serializeError(error: unknown): unknown {
  return redactValue(pino.stdSerializers.err(redactError(error) as Error));
}

/** One logger for the process; jobs get children `{queue, job, jobId, subscription}`. */
export function createLogger(level: string, options: { pretty?: boolean; destination?: DestinationStream } = {}): Logger {
  const pretty = options.pretty ?? (options.destination ? false : process.stderr.isTTY);
  return pino(
    {
      level,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { pid: process.pid },
      serializers: { err: serializeError, error: serializeError },
      // Strings anywhere in a log line (the message, a `reason`, a `url`) go through the same redaction.
      formatters: { log: (object) => redactValue(object) },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg: unknown) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>;
          method.apply(this, redacted);
        },
      },
    },
    options.destination ??
      (pretty ? pino.transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:standard' } }) : pino.destination(2)),
  );
}
