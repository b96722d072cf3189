import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from './config.js';
import { InputError } from './errors.js';
import { waitUntilIdle } from './jobs/queues.js';
import { runScan } from './jobs/scan.js';
import type { Logger } from './log.js';
import { addDays } from './policy/dates.js';
import { startSandboxRedis } from './redis/sandbox.js';
import { startRuntime } from './runtime.js';
import { copyDatabase } from './store/copy.js';
import { findLastActionId, listActionsOn, type LoggedAction } from './store/action-log.js';
import { databaseFile, openStore } from './store/db.js';
import type { Store } from './store/executor.js';

export type SimulatedAction = LoggedAction;

export interface SimulatedDay {
  date: string;
  actions: SimulatedAction[];
}

export interface SandboxOptions {
  /** The sandbox's data directory: new or empty. @defaultValue a new directory under the OS temp dir */
  into?: string;
  /** Called once the sandbox directory is chosen, before the copy. */
  onSandbox?: (dataDir: string) => void;
  onDay?: (day: SimulatedDay) => void;
}

/**
 * SPEC §6 `simulate`: a time-lapse in a sandbox. The configured database is copied (read-only,
 * one snapshot) into a data directory of its own, and the days run there: the configured data
 * never changes and no email leaves the machine, whatever REDIS_URL and SMTP_URL say.
 */
export async function simulateInSandbox(
  config: Readonly<Config>,
  log: Logger,
  range: { from: string; to: string },
  options: SandboxOptions = {},
): Promise<{ dataDir: string; days: SimulatedDay[] }> {
  const source = databaseFile(config.dataDir);
  if (!existsSync(source)) throw new InputError(`no database at ${source}: nothing to simulate (import data first, or set LIFECYCLE_DATA_DIR)`);
  const dataDir = prepareSandboxDir(options.into);
  options.onSandbox?.(dataDir);
  await copyDatabase(source, databaseFile(dataDir));
  const store = openStore(databaseFile(dataDir));
  try {
    const days = await runTimeLapse({ ...config, dataDir }, store, log, range, options.onDay);
    return { dataDir, days };
  } finally {
    await store.close();
  }
}

/** `--into DIR` must be new or empty: a sandbox never mixes with (or deletes) files already there. */
function prepareSandboxDir(into: string | undefined): string {
  if (into === undefined) return mkdtempSync(path.join(tmpdir(), 'lifecycle-sandbox-'));
  const dir = path.resolve(into);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new InputError(`--into ${dir}: exists and is not a directory`);
    if (readdirSync(dir).length > 0) throw new InputError(`--into ${dir}: exists and is not empty (choose a new or empty directory; nothing was changed)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * The time-lapse itself, in place on `store` and `config.dataDir`: each day is scanned as of that
 * day and every resulting job runs to completion through real BullMQ workers whose clock says
 * it is that day. Always a private redis-server and the outbox of `config.dataDir`.
 * The demo runs it on its own demo directory; `simulateInSandbox` on a copy.
 */
export async function runTimeLapse(
  config: Readonly<Config>,
  store: Store,
  log: Logger,
  range: { from: string; to: string },
  onDay?: (day: SimulatedDay) => void,
): Promise<SimulatedDay[]> {
  const redis = await startSandboxRedis();
  let day = range.from;
  const prefix = `${config.queuePrefix}-simulate`;
  const days: SimulatedDay[] = [];
  try {
    const runtime = await startRuntime({
      // Retries wait milliseconds, not minutes: the calendar here is simulated. Its events stay in
      // the sandbox copy: a rehearsal must not tell benefits systems anything.
      config: { ...config, redisUrl: null, smtpUrl: null, jobBackoffMs: 20, eventsWebhookUrl: null, eventsWebhookSecret: null },
      store,
      log,
      connection: redis.connection,
      prefix,
      today: () => day,
      now: () => new Date(),
    });
    const startId = await findLastActionId(store);
    try {
      for (; day <= range.to; day = addDays(day, 1)) {
        await runScan(runtime.deps, { trigger: 'simulate', asOf: day });
        await waitUntilIdle(runtime.queues.actions);
        const simulated: SimulatedDay = { date: day, actions: await listActionsOn(store, day, startId) };
        days.push(simulated);
        onDay?.(simulated);
      }
    } finally {
      await runtime.close(5_000);
    }
  } finally {
    await redis.stop();
  }
  return days;
}
