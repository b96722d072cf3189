import type { Config } from '../config.js';
import type { JobDeps } from '../jobs/deps.js';
import type { Queues } from '../jobs/queues.js';
import type { Logger } from '../log.js';
import type { Mailer } from '../mail/mailer.js';
import type { RedisConnection } from '../redis/connect.js';
import type { Store } from '../store/executor.js';
import type { Metrics } from './metrics.js';

/** Everything the admin routes use, handed in by the wiring (src/daemon.ts). */
export interface AdminContext {
  config: Readonly<Config>;
  store: Store;
  queues: Queues;
  /** The runtime's job deps: its clock (`today`, `now`), its payment gateway, what a scan needs. */
  deps: JobDeps;
  /** The Redis of the queues: POST /api/scans waits for its scan job through QueueEvents. */
  connection: RedisConnection;
  metrics: Metrics;
  mailer: Pick<Mailer, 'verify'>;
  log: Logger;
  /** How long POST /api/scans waits for its scan before answering 202 with the job id. @defaultValue 60000 */
  scanWaitMs?: number;
}
