import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { trackChild } from './processes.js';

/**
 * A PostgreSQL server of the test's own (initdb in a temp dir, trust auth on 127.0.0.1), for
 * tests that stop, kill or restart it: the machine's shared server is never touched.
 * `postgresBinDir` is null when the server binaries are missing (and the start throws, saying so).
 */
export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  /** Fast shutdown (SIGINT), then a start on the same directory and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function findBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0]!, 'bin') : null;
}

export const postgresBinDir = findBinDir();

/** postgres refuses to run as root: as root, initdb and the server run as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0) throw new Error('running as root, and no `postgres` user to run a PostgreSQL server as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A temp dir's parent the server's user can reach: as root, /tmp may be closed to others (mode 0700). */
function baseDir(user: ReturnType<typeof serverUser>): string {
  if (!('uid' in user)) return tmpdir();
  const reachable = [tmpdir(), '/var/tmp', '/dev/shm'].find((dir) => spawnSync('test', ['-x', dir, '-a', '-w', dir], user).status === 0);
  if (!reachable) throw new Error(`running as root, and no temp dir the postgres user may write to (${tmpdir()}, /var/tmp, /dev/shm)`);
  return reachable;
}

export async function startPostgresServer(port: number): Promise<PostgresServer> {
  if (!postgresBinDir) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
  const user = serverUser();
  const dir = mkdtempSync(path.join(baseDir(user), 'lifecycle-pg-'));
  const dataDir = path.join(dir, 'data');
  if ('uid' in user) chownSync(dir, user.uid, user.gid);
  const init = spawnSync(path.join(postgresBinDir, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    encoding: 'utf8',
    cwd: dir,
    ...user,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }

  let child: ChildProcess | null = null;
  const start = async () => {
    const args = ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
    // Durability is not under test here; speed is welcome.
    args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200');
    const started = trackChild(spawn(path.join(postgresBinDir!, 'postgres'), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...user }));
    child = started;
    let log = '';
    started.stderr!.setEncoding('utf8').on('data', (text: string) => (log += text));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (/database system is ready to accept connections/.test(log)) return;
      if (started.exitCode !== null) throw new Error(`postgres exited: ${log}`);
      if (Date.now() > deadline) throw new Error(`postgres did not start in 30 s: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const shutdown = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the data stays consistent.
    running.kill('SIGINT');
    await exited;
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async restart() {
      await shutdown();
      await start();
    },
    async stop() {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
