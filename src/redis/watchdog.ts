import { spawn } from 'node:child_process';

/** How long a private redis-server outlives its dead daemon, so a restarted daemon can adopt it. */
export const orphanGraceMs = 5_000;

/**
 * A tiny detached process per private redis-server that stops it (SIGTERM: Redis fsyncs its AOF
 * and exits) once the daemon named as owner in `redis.json` has been dead for `orphanGraceMs`:
 * a daemon killed with SIGKILL leaves no redis-server behind. A daemon that adopts the server
 * within the grace writes its own pid there and the watchdog keeps watching that one.
 * Plain JavaScript run by `node -e`, so it works from the sources and from dist/ alike.
 */
const watchdogScript = `
const { readFileSync } = require('node:fs');
const [file, redisPidText, graceText] = process.argv.slice(1);
const redisPid = Number(redisPidText);
const graceMs = Number(graceText);
const isAlive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
let owner = 0;
let deadSince = 0;
const tick = () => {
  if (!isAlive(redisPid)) process.exit(0);
  try {
    const info = JSON.parse(readFileSync(file, 'utf8'));
    if (info.pid !== redisPid) process.exit(0);
    owner = info.ownerPid;
  } catch {}
  if (owner && !isAlive(owner)) {
    deadSince ||= Date.now();
    if (Date.now() - deadSince >= graceMs) {
      try { process.kill(redisPid, 'SIGTERM'); } catch {}
      process.exit(0);
    }
  } else deadSince = 0;
};
tick();
setInterval(tick, 250);
`;

/** Starts the watchdog of one redis-server; it outlives this process on purpose. */
export function spawnRedisWatchdog(infoFile: string, redisPid: number, graceMs = orphanGraceMs): void {
  const child = spawn(process.execPath, ['-e', watchdogScript, infoFile, String(redisPid), String(graceMs)], {
    detached: true,
    stdio: 'ignore',
    env: {},
  });
  child.unref();
}
