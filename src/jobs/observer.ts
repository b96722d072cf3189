import type { LifecycleAction } from '../policy/types.js';
import type { ScanResult } from './payloads.js';

export type ScanStatus = 'done' | 'skipped' | 'failed';
export type RenewalSource = 'auto-renew' | 'operator' | 'payment-confirmed';

/**
 * What jobs report as they finish, for metrics. Every method is synchronous and must not throw:
 * an observer never changes what a job does.
 */
export interface JobObserver {
  recordScan(event: { trigger: string; status: ScanStatus; seconds: number; result?: ScanResult }): void;
  /** Once per ledger entry, by the job that wrote it: a retry of a recorded action is not counted again. */
  recordAction(action: LifecycleAction, outcome: string): void;
  recordDelivery(kind: string, error?: Error): void;
  recordRenewal(source: RenewalSource, outcome: 'renewed' | 'reactivated'): void;
}
