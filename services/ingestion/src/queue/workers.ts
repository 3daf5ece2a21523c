import type { Logger } from '@kb/log';
import { adoptTenant } from '@kb/telemetry';
import { runWithTenant } from '@kb/tenancy';
import { trace } from '@opentelemetry/api';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { Redis } from 'ioredis';
import { purgeWorkspace, removeDocument } from '../maintenance/delete.js';
import type { PipelineDeps } from '../pipeline/deps.js';
import { isTransient, reasonOf } from '../pipeline/errors.js';
import { failVersion, ingestVersion } from '../pipeline/ingest.js';
import type { IngestTask } from './fair.js';
import { INGEST_QUEUE, MAINTENANCE_QUEUE, type MaintenanceJob } from './queues.js';

export interface WorkerOptions {
  prefix: string;
  concurrency: number;
  /** A job whose worker stops renewing its lock for this long (a crash) is taken up again. */
  lockMs: number;
  log: Logger;
  /** Called whenever an ingestion job settles, so the dispatcher refills at once. */
  onSettled?: () => void;
  /** The service's version, for the job spans' instrumentation scope. */
  version?: string;
}

/**
 * Runs a job as its tenant: the job's span (opened by BullMQ before the job's data is read) and every span
 * and log line under it carry the tenant, and the request id when the job came from a request.
 */
function asTenant<T>(
  job: Job<{ org: string; ws: string; requestId?: string }>,
  fn: () => Promise<T>,
): Promise<T> {
  const { org, ws, requestId } = job.data;
  adoptTenant(trace.getActiveSpan(), { org, ws });
  const rid = requestId ?? String(job.id);
  return runWithTenant({ org, ws, kid: 'ingestion', scopes: [], plan: '', rid }, fn);
}

export interface Workers {
  close(): Promise<void>;
}

/**
 * BullMQ workers. Ingestion: bad content fails the document at once (UnrecoverableError, no retry); other
 * errors are retried with exponential backoff, and the last attempt fails the document with the reason.
 * A crashed worker's jobs come back after `lockMs` (stalled-job check); they may stall several times
 * (`maxStalledCount`) since a crash is not the document's fault.
 */
export function startWorkers(connection: Redis, deps: PipelineDeps, options: WorkerOptions): Workers {
  const { log } = options;
  const common = {
    connection,
    prefix: options.prefix,
    lockDuration: options.lockMs,
    stalledInterval: Math.max(1_000, Math.floor(options.lockMs / 2)),
    maxStalledCount: 10,
    // Job spans (`process ingest`) continue the trace carried in the job; job durations and counts as metrics.
    telemetry: new BullMQOtel({
      tracerName: 'kb-ingestion',
      meterName: 'kb-ingestion',
      version: options.version ?? '0.0.0',
      enableMetrics: true,
    }),
  };

  const processIngest = async (job: Job<IngestTask>) => {
    const task = job.data;
    const attempts = job.opts.attempts ?? 1;
    try {
      return await ingestVersion(deps, task);
    } catch (error) {
      const reason = reasonOf(error);
      const jobLog = log.child({ org_id: task.org, workspace_id: task.ws, document_id: task.documentId });
      if (!isTransient(error)) {
        jobLog.info({ reason }, 'document failed: bad content');
        await failVersion(deps, task, reason);
        throw new UnrecoverableError(reason);
      }
      if (job.attemptsMade + 1 >= attempts) {
        jobLog.warn({ err: error, attempts }, 'document failed: retries exhausted');
        await failVersion(
          deps,
          task,
          `could not be processed after ${attempts} attempts (${reason}); upload it again later`,
        );
      } else {
        jobLog.warn({ err: error, attempt: job.attemptsMade + 1 }, 'ingestion attempt failed; will retry');
      }
      throw error;
    }
  };
  const ingest = new Worker<IngestTask>(
    INGEST_QUEUE,
    (job: Job<IngestTask>) => asTenant(job, () => processIngest(job)),
    { ...common, concurrency: options.concurrency },
  );

  const maintenance = new Worker<MaintenanceJob>(
    MAINTENANCE_QUEUE,
    (job: Job<MaintenanceJob>) =>
      asTenant(job, async () => {
        const { data } = job;
        const tenant = { org: data.org, ws: data.ws };
        if (data.kind === 'delete-document') await removeDocument(deps, tenant, data.documentId);
        else await purgeWorkspace(deps, tenant);
      }),
    { ...common, concurrency: 2 },
  );

  for (const worker of [ingest, maintenance]) {
    worker.on('error', (error) => log.warn({ err: error.message, queue: worker.name }, 'queue worker error'));
  }
  maintenance.on('failed', (job, error) =>
    log.warn({ err: error, job: job?.id, attempt: job?.attemptsMade }, 'maintenance job failed'),
  );
  ingest.on('completed', () => options.onSettled?.());
  ingest.on('failed', () => options.onSettled?.());
  return {
    async close() {
      await Promise.allSettled([ingest.close(), maintenance.close()]);
    },
  };
}
