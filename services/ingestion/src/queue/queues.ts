import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type IngestTask, jobIdOf } from './fair.js';

export const INGEST_QUEUE = 'ingest';
export const MAINTENANCE_QUEUE = 'maintenance';

export type MaintenanceJob =
  | { kind: 'delete-document'; org: string; ws: string; documentId: string }
  | { kind: 'purge-workspace'; org: string; ws: string };

export interface QueueOptions {
  /** BullMQ key prefix (tests use their own). */
  prefix: string;
  /** Attempts per document version (the first and the retries). */
  attempts: number;
  /** First retry delay; each further retry doubles it. */
  backoffMs: number;
}

export interface Queues {
  ingest: Queue<IngestTask>;
  maintenance: Queue<MaintenanceJob>;
  /** Adds ingestion jobs; a job id that exists already is left as it is (BullMQ ignores the duplicate). */
  addIngest(tasks: IngestTask[]): Promise<void>;
  addMaintenance(job: MaintenanceJob, options?: { delayMs?: number; suffix?: string }): Promise<void>;
  close(): Promise<void>;
}

export const maintenanceJobId = (job: MaintenanceJob, suffix = '') =>
  (job.kind === 'delete-document' ? `delete-${job.documentId}` : `purge-${job.ws}`) + suffix;

/**
 * The BullMQ queues. `connection` should fail fast (a producer must not hang while Redis restarts: the
 * caller retries). Completed jobs are kept an hour so a redelivered request finds its job and adds nothing.
 */
export function createQueues(connection: Redis, options: QueueOptions): Queues {
  const common = { connection, prefix: options.prefix };
  const ingest = new Queue<IngestTask>(INGEST_QUEUE, {
    ...common,
    defaultJobOptions: {
      attempts: options.attempts,
      backoff: { type: 'exponential', delay: options.backoffMs },
      removeOnComplete: { age: 3_600, count: 20_000 },
      removeOnFail: { age: 7 * 86_400, count: 20_000 },
    },
  });
  const maintenance = new Queue<MaintenanceJob>(MAINTENANCE_QUEUE, {
    ...common,
    defaultJobOptions: {
      attempts: 12,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400, count: 10_000 },
    },
  });
  // Errors surface on the calls that fail; without listeners BullMQ would print them unasked.
  ingest.on('error', () => undefined);
  maintenance.on('error', () => undefined);
  return {
    ingest,
    maintenance,
    async addIngest(tasks) {
      if (tasks.length === 0) return;
      // A job's span continues the trace of the request that queued its task (bullmq-otel metadata).
      await ingest.addBulk(
        tasks.map((task) => ({
          name: 'ingest',
          data: task,
          opts: { jobId: jobIdOf(task), ...(task.trace ? { telemetry: { metadata: task.trace } } : {}) },
        })),
      );
    },
    async addMaintenance(job, { delayMs, suffix } = {}) {
      await maintenance.add(job.kind, job, {
        jobId: maintenanceJobId(job, suffix),
        ...(delayMs ? { delay: delayMs } : {}),
      });
    },
    async close() {
      await Promise.allSettled([ingest.close(), maintenance.close()]);
    },
  };
}
