import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { InputError } from '../errors.js';
import { privateFileMode } from '../files.js';
import { openStore } from './db.js';

/**
 * Copies the SQLite database `sourceFile` into `targetFile` (which must not exist) through the
 * online backup API. The source is opened read-only: its file is never written, not even by the
 * WAL checkpoint a read-write connection does on close. The pages are copied in one step, that
 * is one read transaction: a snapshot of what was committed when it began, while writers (a
 * running daemon) go on. Pages are copied as they are, faster than `VACUUM INTO`, which
 * rebuilds every index (bench/copy.ts: 3.5 s against 4.8 s at 1,000,000 subscriptions).
 */
export async function copyDatabase(sourceFile: string, targetFile: string): Promise<void> {
  if (existsSync(targetFile)) throw new InputError(`${targetFile}: already exists (a copy never overwrites a file)`);
  const source = openStore(sourceFile, { mode: 'read-only' });
  try {
    // Created empty and owner-only first (an empty file is an empty database to SQLite): the copy holds what the source holds.
    closeSync(openSync(targetFile, 'wx', privateFileMode));
  } catch (error) {
    source.close();
    throw error;
  }
  try {
    await source.sqlite.backup(targetFile, { progress: () => allPages });
  } catch (error) {
    rmSync(targetFile, { force: true });
    throw error;
  } finally {
    source.close();
  }
}

/** better-sqlite3's largest step: every remaining page at once. */
const allPages = 0x7fffffff;
