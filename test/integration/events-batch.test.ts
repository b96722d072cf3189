import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { eventAttempts } from '../../src/jobs/deliver-event.js';
import { eventBatchSize } from '../../src/jobs/deliver-events.js';
import { buildEventJobId, enqueueEvents, waitUntilIdle } from '../../src/jobs/queues.js';
import type { Runtime } from '../../src/runtime.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';
import { useWorlds, type World } from '../helpers/world.js';
import { writePendingEvents } from '../helpers/events.js';

/*
 * The batched delivery path: `deliver-events` jobs of up to eventBatchSize events POSTed
 * concurrently within WORKER_CONCURRENCY, each refusal handed to a `deliver-event` job of its own.
 */

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const worlds = useWorlds({ hasSmtp: false });

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Line {
  event_id: string;
  status: string;
  attempts: number;
  last_error: string | null;
}

async function start(): Promise<{ w: World; runtime: Runtime; r: WebhookReceiver }> {
  // Answered a moment later, so that requests overlap and the concurrency bound is tested.
  const r = worlds.closeAfterTest(await startWebhookReceiver(secret, { answerDelayMs: 2 }));
  const w = await worlds.create({ EVENTS_WEBHOOK_URL: r.url, EVENTS_WEBHOOK_SECRET: secret, WORKER_CONCURRENCY: '4' }, '2019-10-02');
  return { w, runtime: await w.startRuntime(), r };
}

async function lines(w: World): Promise<Line[]> {
  return w.store.all<Line>(sql`SELECT event_id, status, attempts, last_error FROM events ORDER BY id`);
}

describe('batched event delivery', () => {
  it('delivers batches within the concurrency bound; a refused event retries on its own job, the others are sent once', async () => {
    const { w, runtime, r } = await start();
    const ids = await writePendingEvents(w, eventBatchSize * 2 + 7, 'batch');
    const refused = ids.filter((_, i) => i % 9 === 0);
    for (const id of refused) r.refusals.set(id, 1);
    await enqueueEvents(runtime.queues.actions, w.config, ids);
    await waitFor(async () => (await lines(w)).every((line) => line.status === 'delivered'), 'every event delivered');
    await waitUntilIdle(runtime.queues.actions);

    expect(r.refusedSignatures).toEqual([]);
    expect(r.inFlight.most).toBeGreaterThan(1);
    expect(r.inFlight.most).toBeLessThanOrEqual(4);
    const acknowledged = r.acknowledged().map((d) => d.id);
    expect([...acknowledged].sort()).toEqual([...ids].sort()); // each once
    const byId = new Map((await lines(w)).map((line) => [line.event_id, line]));
    for (const id of ids) {
      const isRefused = refused.includes(id);
      expect({ attempts: byId.get(id)!.attempts, lastError: byId.get(id)!.last_error }).toEqual({ attempts: isRefused ? 2 : 1, lastError: null });
      expect(r.deliveries.filter((a) => a.id === id).map((a) => a.status)).toEqual(isRefused ? [503, 204] : [204]);
    }
  }, 60_000);

  it('an event refused again and again keeps its status, attempts and error on its own job; a batch skips what is delivered', async () => {
    const { w, runtime, r } = await start();
    const [stubborn, other] = await writePendingEvents(w, 2, 'batch');
    r.refusals.set(stubborn!, Infinity);
    await enqueueEvents(runtime.queues.actions, w.config, [stubborn!, other!]);
    await waitFor(async () => (await lines(w)).find((line) => line.event_id === stubborn)!.attempts >= 3, 'three refusals');
    const [first, second] = await lines(w);
    expect(first).toMatchObject({ event_id: stubborn, status: 'pending', last_error: 'the receiver answered 503' });
    expect(second).toMatchObject({ event_id: other, status: 'delivered', attempts: 1, last_error: null });
    const job = await runtime.queues.actions.getJob(buildEventJobId(stubborn!));
    expect(job?.name).toBe('deliver-event');
    expect(job?.opts.attempts).toBe(eventAttempts - 1);

    // The delivered one queued again in a batch is not sent again.
    const sentBefore = r.deliveries.filter((a) => a.id === other).length;
    r.refusals.delete(stubborn!);
    await enqueueEvents(runtime.queues.actions, w.config, [other!]);
    await waitFor(async () => (await lines(w)).every((line) => line.status === 'delivered'), 'the stubborn one delivered once the receiver takes it');
    await waitUntilIdle(runtime.queues.actions);
    expect(r.deliveries.filter((a) => a.id === other)).toHaveLength(sentBefore);
    expect(r.deliveries.filter((a) => a.id === stubborn).map((a) => a.status).at(-1)).toBe(204);
  }, 60_000);
});
