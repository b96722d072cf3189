/**
 * The scan's memory, measured in a process of its own: open the database, run runScan for a
 * day on a fresh queue prefix, and report the RSS before and at its peak (sampled every 50 ms
 * and between batches). In the benchmark's own process earlier stages would count too.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createTestGateway } from '../../src/billing/gateway.js';
import { loadConfig } from '../../src/config.js';
import { createQueues } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import type { ScanResult } from '../../src/jobs/payloads.js';
import { openStore } from '../../src/store/db.js';
import { collectGarbage, createMemorySampler, type MemoryPeak } from './measure.js';

export interface ScanMemoryOptions {
  databaseFile: string;
  dataDir: string;
  redisPort: number;
  prefix: string;
  day: string;
}

export interface ScanMemoryResult {
  /** RSS with every module loaded and the database open, before the scan. */
  baselineRssMb: number;
  peak: MemoryPeak;
  seconds: number;
  result: ScanResult;
}

async function measureScanMemory(options: ScanMemoryOptions): Promise<ScanMemoryResult> {
  const store = openStore(options.databaseFile);
  const config = loadConfig({ LIFECYCLE_DATA_DIR: options.dataDir, REDIS_URL: `redis://127.0.0.1:${options.redisPort}`, LOG_LEVEL: 'silent' });
  const queues = createQueues({ host: '127.0.0.1', port: options.redisPort }, options.prefix, config);
  await queues.actions.waitUntilReady();
  collectGarbage();
  const baselineRssMb = Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;
  const sampler = createMemorySampler(50);
  sampler.start();
  const started = performance.now();
  const result = await runScan(
    {
      store,
      config,
      gateway: createTestGateway(),
      sendNotice: () => Promise.reject(new Error('a scan sends nothing')),
      queue: queues.actions,
      today: () => options.day,
      now: () => new Date(),
      log: pino({ level: 'silent' }),
    },
    { trigger: 'operator', asOf: options.day },
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = sampler.stop();
  await queues.close();
  store.close();
  return { baselineRssMb, peak, seconds, result };
}

/** Runs measureScanMemory in a fresh child process. */
export async function measureScanMemoryInChild(options: ScanMemoryOptions): Promise<ScanMemoryResult> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise<ScanMemoryResult>((resolve) => child.once('message', (message) => resolve(message as ScanMemoryResult)));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the scan memory child failed (exit status ${String(code)})`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await measureScanMemory(JSON.parse(process.argv[2]!) as ScanMemoryOptions);
  process.send!(result, () => process.exit(0));
}
