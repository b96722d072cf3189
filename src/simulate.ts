import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { storeTarget, type Config } from './config.js';
import { InputError } from './errors.js';
import { waitUntilIdle } from './jobs/queues.js';
import { runScan } from './jobs/scan.js';
import type { Logger } from './log.js';
import { addDays } from './policy/dates.js';
import { createApp } from './app.js';
import { copyDatabase, copyStore, openCopySource, openCopyTarget, type CopyTarget } from './store/copy.js';
import { findLastActionId, listActionsOn, type LoggedAction } from './store/action-log.js';
import { connectStore, databaseFile, type StoreTarget } from './store/db.js';
import { describePostgresUrl } from './store/postgres.js';
import { redactUrl } from './redact.js';
import type { Store } from './store/executor.js';

export type SimulatedAction = LoggedAction;

export interface SimulatedDay {
  date: string;
  actions: SimulatedAction[];
}

export interface SandboxOptions {
  /** The sandbox's data directory: new or empty. @defaultValue a new directory under the OS temp dir */
  into?: string;
  /**
   * `postgres://…`: an existing, empty PostgreSQL database that holds the sandbox's data (the
   * data directory then holds only its outbox). @defaultValue an SQLite file in the data directory
   */
  intoDatabase?: string;
  /** Called once the sandbox is chosen, before the copy: its data directory and where its data goes. */
  onSandbox?: (dataDir: string, location: string) => void;
  onDay?: (day: SimulatedDay) => void;
}

/**
 * SPEC §6 `simulate`: a time-lapse in a sandbox. The configured store (SQLite or PostgreSQL) is
 * copied (read-only, one snapshot) into a store of the sandbox's own, and the days run there:
 * an SQLite file in the sandbox's data directory, or the empty PostgreSQL database
 * `intoDatabase` names. A simulation of a PostgreSQL installation needs no PostgreSQL of its own.
 * The configured data never changes and no email leaves the machine, whatever REDIS_URL and
 * SMTP_URL say.
 */
export async function simulateInSandbox(
  config: Readonly<Config>,
  log: Logger,
  range: { from: string; to: string },
  options: SandboxOptions = {},
): Promise<{ dataDir: string; location: string; days: SimulatedDay[] }> {
  const source = storeTarget(config);
  if ('file' in source && !existsSync(source.file)) throw new InputError(`no database at ${source.file}: nothing to simulate (import data first, or set LIFECYCLE_DATA_DIR)`);
  const intoDatabase = options.intoDatabase;
  if (intoDatabase !== undefined && !/^postgres(ql)?:\/\//i.test(intoDatabase)) {
    throw new InputError(`--into-database ${redactUrl(intoDatabase)}: expected postgres://…/DB (an SQLite sandbox goes into its data directory: --into DIR)`);
  }
  // A SQLite source is first a page copy (`copyDatabase`) into the sandbox's data directory, read-only (not even a
  // checkpoint writes its file), and that copy is migrated: a file an earlier release left (not migrated yet) simulates
  // on today's schema. Into PostgreSQL that copy then goes table by table, checked by counts, and is removed.
  // Both stores are reached before the sandbox directory is made: a refusal leaves nothing behind.
  let from = 'file' in source ? undefined : await openCopySource(source, 'lifecycle simulate');
  let target: CopyTarget | undefined;
  let dataDir: string;
  try {
    if (intoDatabase !== undefined) target = await openCopyTarget(intoDatabase);
    dataDir = prepareSandboxDir(options.into);
    const sandbox: StoreTarget = intoDatabase !== undefined ? { url: intoDatabase } : { file: databaseFile(dataDir) };
    options.onSandbox?.(dataDir, target?.store.location ?? databaseFile(dataDir));
    if (from === undefined) {
      const staged = databaseFile(dataDir);
      await copyDatabase((source as { file: string }).file, staged);
      if (target !== undefined) {
        try {
          const copy = await connectStore({ file: staged }, { mode: 'existing' });
          try {
            await copyStore(copy, target.store);
          } finally {
            await copy.close();
          }
        } finally {
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${staged}${suffix}`, { force: true });
        }
      }
    } else {
      target ??= await openCopyTarget(databaseFile(dataDir));
      try {
        await copyStore(from, target.store);
      } catch (error) {
        await target.store.close();
        await target.discard();
        target = undefined;
        throw error;
      }
    }
    await target?.store.close();
    target = undefined;
    await from?.close();
    from = undefined;
    const store = await connectStore(sandbox, { applicationName: 'lifecycle simulate' });
    try {
      const database: Config['database'] = 'url' in sandbox ? { kind: 'postgres', url: sandbox.url } : { kind: 'sqlite', file: sandbox.file };
      const days = await runTimeLapse({ ...config, dataDir, database }, store, log, range, options.onDay);
      return { dataDir, location: store.location, days };
    } finally {
      await store.close();
    }
  } finally {
    await target?.store.close().catch(() => {});
    await from?.close().catch(() => {});
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
  let day = range.from;
  const days: SimulatedDay[] = [];
  const app = await createApp(config, { role: 'simulate', log, store, today: () => day });
  try {
    const { deps, queues } = app.runtime!;
    const startId = await findLastActionId(store);
    for (; day <= range.to; day = addDays(day, 1)) {
      await runScan(deps, { trigger: 'simulate', asOf: day });
      await waitUntilIdle(queues.actions);
      const simulated: SimulatedDay = { date: day, actions: await listActionsOn(store, day, startId) };
      days.push(simulated);
      onDay?.(simulated);
    }
  } finally {
    await app.close();
  }
  return days;
}
