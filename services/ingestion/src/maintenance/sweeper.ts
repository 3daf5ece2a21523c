import type { Logger } from '@kb/log';
import { unscoped } from '@kb/store';
import type { Redis } from 'ioredis';
import type { PipelineDeps } from '../pipeline/deps.js';
import { failVersion } from '../pipeline/ingest.js';
import { type FairQueue, type IngestTask, jobIdOf } from '../queue/fair.js';
import { maintenanceJobId, type Queues } from '../queue/queues.js';
import type { DocumentDoc } from '../store/documents.js';

export interface SweeperOptions {
  deps: PipelineDeps;
  queues: Queues;
  fair: FairQueue;
  /** For the lock that lets one replica sweep at a time. */
  redis: Redis;
  prefix: string;
  instance: string;
  log: Logger;
  intervalMs: number;
  /** Work untouched for this long is checked. */
  staleMs: number;
  /** Called after tasks were put back in the fair queue. */
  onRequeued?: () => void;
}

const LIVE_JOB_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
const BATCH = 200;
const MAX_PER_TICK = 5_000;

/**
 * The safety net that bounds how long an accepted document can stay unfinished, whatever was lost on the
 * way (a gateway that died between recording and publishing, a dead-lettered message, Redis losing jobs,
 * a job that failed while its record could not be updated). Periodically, for documents whose record has
 * not changed for `staleMs`: a version that is neither waiting its turn nor a live job is queued again; a
 * version whose job failed for good is marked failed; a deletion without a job gets one.
 */
export function startSweeper(options: SweeperOptions): { stop(): Promise<void> } {
  const { deps, queues, fair, log } = options;
  const lockKey = `${options.prefix}:{fair}:sweeper-lock`;
  let running: Promise<void> | null = null;

  async function checkIngest(doc: DocumentDoc): Promise<boolean> {
    const task: IngestTask = {
      org: doc.org_id,
      ws: doc.workspace_id,
      documentId: doc._id,
      version: doc.version,
      enqueuedAt: Date.now(),
    };
    if (await fair.holds(task)) return false;
    const id = jobIdOf(task);
    const state = await queues.ingest.getJobState(id);
    if (LIVE_JOB_STATES.has(state)) return false;
    if (state === 'failed' && doc.status !== 'finalizing') {
      const job = await queues.ingest.getJob(id);
      await failVersion(deps, task, job?.failedReason || 'processing failed');
      return false;
    }
    if (state === 'failed' || state === 'completed') await queues.ingest.remove(id);
    return fair.enqueue(task);
  }

  async function checkDeletion(doc: DocumentDoc): Promise<void> {
    const job = {
      kind: 'delete-document' as const,
      org: doc.org_id,
      ws: doc.workspace_id,
      documentId: doc._id,
    };
    const id = maintenanceJobId(job);
    const state = await queues.maintenance.getJobState(id);
    if (LIVE_JOB_STATES.has(state)) return;
    if (state === 'failed' || state === 'completed') await queues.maintenance.remove(id);
    await queues.addMaintenance(job);
  }

  async function sweep(): Promise<void> {
    const locked = await options.redis.set(lockKey, options.instance, 'PX', options.intervalMs * 3, 'NX');
    if (locked !== 'OK') return;
    try {
      const cutoff = new Date(Date.now() - options.staleMs);
      let requeued = 0;
      let after: { at: Date; id: string } | null = null;
      for (let seen = 0; seen < MAX_PER_TICK; seen += BATCH) {
        const filter: Record<string, unknown> = {
          status: { $in: ['queued', 'processing', 'finalizing', 'deleting'] },
          updated_at: { $lt: cutoff },
        };
        if (after) {
          filter.$or = [{ updated_at: { $gt: after.at } }, { updated_at: after.at, _id: { $gt: after.id } }];
        }
        const batch = (await unscoped(
          'sweeper: find stalled ingestion work across tenants',
          deps.stores.documents.model
            .find(filter)
            .sort({ updated_at: 1, _id: 1 })
            .limit(BATCH)
            .lean<DocumentDoc[]>(),
        ).exec()) as DocumentDoc[];
        const results = await Promise.all(
          batch.map((doc) =>
            doc.status === 'deleting' ? checkDeletion(doc).then(() => false) : checkIngest(doc),
          ),
        );
        requeued += results.filter(Boolean).length;
        const last = batch.at(-1);
        if (!last || batch.length < BATCH) break;
        after = { at: last.updated_at, id: last._id };
      }
      if (requeued > 0) {
        log.warn({ requeued }, 'sweeper queued stalled documents again');
        options.onRequeued?.();
      }
      await unscoped(
        'sweeper: expire idempotency keys across tenants',
        deps.stores.claims.model.deleteMany({ kind: 'idempotency', expires_at: { $lt: new Date() } }),
      ).exec();
    } finally {
      await options.redis.del(lockKey).catch(() => undefined);
    }
  }

  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((error: unknown) => log.warn({ err: error }, 'sweep failed; will retry'))
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
