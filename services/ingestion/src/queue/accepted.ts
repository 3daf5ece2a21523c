import { traceMetadata } from '@kb/telemetry';
import type { DocumentDoc } from '../store/documents.js';
import { type FairQueue, type IngestTask, jobIdOf } from './fair.js';
import type { Queues } from './queues.js';

/** The task of a record's current version; its job will continue the trace current here. */
export const acceptedTask = (record: DocumentDoc, requestId: string): IngestTask => ({
  org: record.org_id,
  ws: record.workspace_id,
  documentId: record._id,
  version: record.version,
  enqueuedAt: Date.now(),
  trace: traceMetadata(),
  requestId,
});

/**
 * Whether the version is already on its way: waiting its turn, being dispatched, or a job (in any state,
 * for an hour after it ends). Checked in this order, so a task moving from one to the next is not missed.
 */
export async function isUnderWay(fair: FairQueue, queues: Queues, task: IngestTask): Promise<boolean> {
  if (await fair.holds(task)) return true;
  return (await queues.ingest.getJobState(jobIdOf(task))) !== 'unknown';
}
