import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

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

/** The directory (and missing parents) owner-only; an existing one is tightened (a data dir of an older release was 0755). */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: privateDirMode });
  tightenMode(dir, privateDirMode);
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
