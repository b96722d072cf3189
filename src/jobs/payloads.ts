import type { LifecycleAction } from '../policy/types.js';

/** One lifecycle action of one subscription's cycle: the key (subscription, action, anniversary). */
export interface ActionJobData {
  subscription: string;
  anniversary: string;
  /** The day the scan (or the previous action) found it due. */
  foundOn: string;
}

export interface ScanJobData {
  trigger: 'daily' | 'operator' | 'simulate';
  /** Operators may scan as of another day; the daily scan always uses today. */
  asOf?: string;
}

export interface DeliverJobData {
  messageId: string;
}

export interface DeliverEventJobData {
  eventId: string;
  /** Attempts made before this job (the batch's): its backoff goes on from there. */
  attemptsBefore?: number;
}

/** A batch of events to POST (at most eventBatchSize); each one refused goes on to a `deliver-event` job. */
export interface DeliverEventsJobData {
  eventIds: string[];
}

/** Every job name and its payload, shared by producers and processors. */
export interface JobPayloads extends Record<LifecycleAction, ActionJobData> {
  scan: ScanJobData;
  deliver: DeliverJobData;
  'deliver-event': DeliverEventJobData;
  'deliver-events': DeliverEventsJobData;
}

export type JobName = keyof JobPayloads;

export interface ScanResult {
  scanId: number | null;
  asOf: string;
  due: number;
  enqueued: number;
  missed: number;
  redelivered: number;
  /** Set when this day's daily scan had already run. */
  skipped?: string;
}
