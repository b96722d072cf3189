import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * SPEC §9: what the daemon writes (database, Redis data, outbox, logs) holds contacts, payment
 * tokens and every email: owner-only, whatever the umask.
 */
export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

/**
 * Files created from here on are owner-only, those of child processes (redis-server, SQLite's
 * -wal/-shm) included: the entry points call this first.
 */
export function restrictUmask(): void {
  process.umask(0o077);
}

/** The directory (and missing parents) owner-only; an existing one is tightened. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: privateDirMode });
  tightenMode(dir, privateDirMode);
}

/**
 * A data dir of an older release (0755, its files 0644) made owner-only: the directory, the
 * files this program writes there, and everything under its own `outbox/` and `redis/`, once
 * (the next start finds them 0700 and looks no further). Nothing else in the directory is
 * touched: LIFECYCLE_DATA_DIR may be a directory that holds other things.
 */
export function tightenDataDir(dataDir: string, ownFiles: readonly string[], ownDirs: readonly string[]): void {
  makePrivateDir(dataDir);
  for (const name of ownFiles) tightenMode(path.join(dataDir, name), privateFileMode);
  for (const name of ownDirs) {
    const dir = path.join(dataDir, name);
    if (isOpenToOthers(dir)) tightenTree(dir);
  }
}

function isOpenToOthers(file: string): boolean {
  try {
    const stats = statSync(file);
    return (stats.mode & 0o077) !== 0 && stats.uid === process.getuid?.();
  } catch {
    return false;
  }
}

/** Group and other bits off every file and directory under `dir`; symbolic links are not followed. */
function tightenTree(dir: string): void {
  tightenMode(dir, privateDirMode);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    let stats;
    try {
      stats = lstatSync(file);
    } catch {
      continue;
    }
    if (stats.isDirectory()) tightenTree(file);
    else if (stats.isFile()) tightenMode(file, stats.mode & 0o700);
  }
}

/** Creates the file empty and owner-only when missing; an existing one is tightened. */
export function touchPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', privateFileMode));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    tightenMode(file, privateFileMode);
  }
}

/**
 * Takes group and other bits off a file or directory of ours; one that is missing or owned by
 * someone else (a shared directory given as data dir) is left alone.
 */
export function tightenMode(file: string, mode: number): void {
  try {
    const stats = statSync(file);
    if ((stats.mode & 0o077) === 0 || stats.uid !== process.getuid?.()) return;
    chmodSync(file, mode);
  } catch {
    // Gone meanwhile, or not ours to change: nothing to tighten.
  }
}
