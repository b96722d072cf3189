import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { enqueueEvents } from '../../src/jobs/queues.js';
import type { JobPayloads } from '../../src/jobs/payloads.js';
import { requeueUndelivered } from '../../src/jobs/scan.js';
import type { Runtime } from '../../src/runtime.js';
import { findLastEventId } from '../../src/store/events.js';
import { useWorlds, type World } from '../helpers/world.js';
import { writePendingEvents } from '../helpers/events.js';

/*
 * The events outbox's safety net (every scan, every daemon start) queues an undelivered event
 * only when no job will deliver it: never an event a batch job still carries, never one written
 * after the scan began (its writer queues it). Otherwise the receiver gets it twice.
 * No workers run here: every job stays where the safety net finds it.
 */

const worlds = useWorlds({ hasSmtp: false });

async function start(): Promise<{ w: World; runtime: Runtime }> {
  // Nothing is POSTed (no workers): the URL only switches the events outbox on.
  const w = await worlds.create({ EVENTS_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', EVENTS_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` }, '2019-10-02');
  return { w, runtime: await w.startRuntime({ hasWorkers: false }) };
}

/** Each event id carried by a waiting job, as often as it is carried. */
async function queuedEventIds(runtime: Runtime): Promise<string[]> {
  const jobs = await runtime.queues.actions.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.flatMap((job) =>
    job.name === 'deliver-events' ? (job.data as JobPayloads['deliver-events']).eventIds : job.name === 'deliver-event' ? [(job.data as JobPayloads['deliver-event']).eventId] : [],
  );
}

describe('the events safety net', () => {
  it('queues an event whose job was lost, and none that a waiting batch carries', async () => {
    const { w, runtime } = await start();
    const [carried1, carried2, lost] = await writePendingEvents(w, 3, 'net');
    await enqueueEvents(runtime.queues.actions, w.config, [carried1!, carried2!]);

    await requeueUndelivered(runtime.deps);
    expect((await queuedEventIds(runtime)).sort()).toEqual([carried1!, carried2!, lost!].sort());
    // Again (the next scan, another daemon's start): nothing more.
    await requeueUndelivered(runtime.deps);
    expect((await queuedEventIds(runtime)).sort()).toEqual([carried1!, carried2!, lost!].sort());
  });

  it("leaves events written after the scan's start to their writers", async () => {
    const { w, runtime } = await start();
    const [before] = await writePendingEvents(w, 1, 'net');
    const lastEventId = await findLastEventId(w.store);
    await writePendingEvents(w, 2, 'net'); // what the scan's own jobs write while it runs, queued by their processes
    await requeueUndelivered(runtime.deps, lastEventId);
    expect(await queuedEventIds(runtime)).toEqual([before]);
  });
});
