import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';
import { openStore } from './db.js';

/**
 * Copies the SQLite database `sourceFile` into `targetFile` (which must not exist) as one
 * consistent snapshot. The source is opened read-only: its file is never written, not even by
 * the WAL checkpoint a read-write connection does on close. `VACUUM INTO` reads every table in
 * one read transaction, so writers (a running daemon) go on and the copy is what was committed
 * when it began.
 */
export function copyDatabase(sourceFile: string, targetFile: string): void {
  if (existsSync(targetFile)) throw new InputError(`${targetFile}: already exists (a copy never overwrites a file)`);
  const source = openStore(sourceFile, { mode: 'read-only' });
  try {
    source.sqlite.prepare('VACUUM INTO ?').run(targetFile);
  } finally {
    source.close();
  }
}

/** The same through the SQLite online backup API: pages copied as they are, no rebuild. */
export async function backupDatabase(sourceFile: string, targetFile: string): Promise<void> {
  if (existsSync(targetFile)) throw new InputError(`${targetFile}: already exists (a copy never overwrites a file)`);
  const source = openStore(sourceFile, { mode: 'read-only' });
  try {
    await source.sqlite.backup(targetFile, { progress: () => 1_000_000 });
  } finally {
    source.close();
  }
}
