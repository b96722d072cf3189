import type { Queues } from '../jobs/queues.js';
import type { Mailer } from '../mail/mailer.js';
import type { Logger } from '../log.js';
import type { Executor } from '../store/executor.js';
import { pingDatabase } from '../store/health.js';

export interface HealthCheck {
  ok: boolean;
  /** Why it failed: for the log only, never in the unauthenticated answer (paths, server replies, user names). */
  error?: string;
  mode?: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  checks: { database: HealthCheck; redis: HealthCheck; smtp: HealthCheck };
}

// A dead server must not hold the health check (and whoever polls it) for the client's own timeouts.
const checkTimeoutMs = 5_000;

async function runCheck(check: () => Promise<unknown> | unknown, extra: Partial<HealthCheck> = {}): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${checkTimeoutMs} ms`)), checkTimeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(check), timeout]);
    return { ok: true, ...extra };
  } catch (error) {
    return { ok: false, ...extra, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** A client waiting to reconnect would hold the check until Redis is back: its state says it now. */
async function checkRedis(queues: Queues): Promise<void> {
  const client = await queues.actions.getBackend().client;
  if (client.status !== 'ready') throw new Error(`Redis unreachable (connection ${client.status})`);
  await queues.actions.getJobCounts('active');
}

/** `GET /healthz`: the database answers, Redis answers, and mail can go out (SMTP login, or a writable outbox). */
export async function checkHealth(ex: Executor, queues: Queues, mailer: Pick<Mailer, 'verify'>, isSmtp: boolean): Promise<Health> {
  const [database, redis, smtp] = await Promise.all([
    runCheck(() => pingDatabase(ex)),
    runCheck(() => checkRedis(queues)),
    runCheck(() => mailer.verify(), { mode: isSmtp ? 'smtp' : 'outbox' }),
  ]);
  const checks = { database, redis, smtp };
  return { status: Object.values(checks).every((c) => c.ok) ? 'ok' : 'degraded', checks };
}

/** What `GET /healthz` answers to anyone: ok or not per component, no error text (SPEC §9). */
export function describeHealthPublicly(health: Health): Health {
  const strip = ({ error: _error, ...check }: HealthCheck): HealthCheck => check;
  return { status: health.status, checks: { database: strip(health.checks.database), redis: strip(health.checks.redis), smtp: strip(health.checks.smtp) } };
}

/**
 * Logs a component's failure (its error text, redacted by the logger) when it starts failing or
 * its reason changes, and its recovery: a monitor polling every few seconds does not flood the log.
 */
export function createHealthLogger(log: Pick<Logger, 'warn' | 'info'>): (health: Health) => void {
  const last = new Map<string, string | null>();
  return (health) => {
    for (const [component, check] of Object.entries(health.checks)) {
      const state = check.ok ? null : (check.error ?? 'failed');
      const previous = last.get(component);
      last.set(component, state);
      if (state === previous || (previous === undefined && state === null)) continue;
      if (state === null) log.info({ component }, 'health: component answers again');
      else log.warn({ component, reason: state }, 'health: component degraded');
    }
  };
}
