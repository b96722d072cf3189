import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runScan } from '../../src/jobs/scan.js';
import { createLogger, type Logger } from '../../src/log.js';
import { addDays } from '../../src/policy/dates.js';
import { findFreePort } from '../helpers/redis.js';
import { useWorlds } from '../helpers/world.js';

const D = '2019-09-30';

const worlds = useWorlds({ hasSmtp: false });

/** The daemon's logger, its lines landing in `lines`, parsed. */
function captureLog(): { log: Logger; lines: { level: number; msg: string; attempt?: number; jobId?: string }[] } {
  const lines: { level: number; msg: string; attempt?: number; jobId?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger('warn', { destination: sink }), lines };
}

describe('the log of a failing job', () => {
  it('says "will retry" while attempts remain, and "failed for good" — not "will retry" — on the last one', async () => {
    const closedPort = await findFreePort(); // nothing listens: every delivery is refused
    const world = await worlds.create({ SMTP_URL: `smtp://127.0.0.1:${closedPort}`, JOB_ATTEMPTS: '2' }, D);
    await world.import([{ id: 'F-1', anniversaryOn: addDays(D, 10) }]);
    const { log, lines } = captureLog();
    const runtime = await world.startRuntime({ log });
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await expect.poll(async () => (await runtime.queues.actions.getJobCounts('failed')).failed, { timeout: 20_000, interval: 50 }).toBe(1);
    await expect.poll(() => lines.filter((l) => l.jobId?.startsWith('remind-before.F-1')).length, { timeout: 5_000 }).toBe(2);

    const failures = lines.filter((l) => l.jobId?.startsWith('remind-before.F-1')).map((l) => [l.attempt, l.msg]);
    expect(failures).toEqual([
      [1, 'job failed, will retry'],
      [2, 'job failed for good: operators can retry it'],
    ]);
  });
});
