import type { Config } from '../config.js';
import type { PaymentGateway } from '../billing/gateway.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/executor.js';
import type { NoticeRow } from '../store/notices.js';
import type { JobObserver } from './observer.js';
import type { ActionQueue } from './queues.js';

/** What processors need, passed in as one object (no DI framework). */
export interface JobDeps {
  store: Store;
  config: Readonly<Config>;
  gateway: PaymentGateway;
  /** Renders and hands one outbox notice to SMTP (or the .eml outbox); throws to be retried. */
  sendNotice(notice: NoticeRow): Promise<void>;
  queue: ActionQueue;
  /** The program day in LIFECYCLE_TZ: the real one in the daemon, the simulated one in `simulate`. */
  today(): string;
  now(): Date;
  log: Logger;
  /** Told what scans and jobs did (metrics); absent in processes that do not export any. */
  observer?: JobObserver;
}
