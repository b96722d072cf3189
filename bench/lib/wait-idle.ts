import type { ActionQueue } from '../../src/jobs/queues.js';

const unfinishedStates = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/**
 * Resolves once the queue has nothing waiting, running or due for a retry, as waitUntilIdle does,
 * with fewer polls while much is left: each poll sleeps a third of the time the jobs left would
 * take at the rate seen so far (at most `longestPollMs`), `finalPollMs` near the end. The end is
 * still seen within `finalPollMs` while the rate holds (a third leaves room for it to drop), and a
 * timed stage of thousands of jobs polls Redis a few dozen times rather than every 25 ms: the
 * poller's CPU, and Redis's, no longer count in the work measured.
 */
export async function waitUntilIdleTimed(queue: ActionQueue, finalPollMs = 25, longestPollMs = 500): Promise<void> {
  const started = performance.now();
  let first: number | undefined;
  for (;;) {
    const counts = await queue.getJobCounts(...unfinishedStates);
    const left = unfinishedStates.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
    if (left === 0) return;
    first ??= left;
    const done = first - left;
    const msPerJob = done > 0 ? (performance.now() - started) / done : 0;
    const pause = Math.min(longestPollMs, Math.max(finalPollMs, (left * msPerJob) / 3));
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
