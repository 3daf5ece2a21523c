import { type Static, Type } from '@sinclair/typebox';
import { DocumentId, ListOf, Timestamp, WorkspaceId } from './common.js';

/**
 * The operator's view of an organization's recent work (`GET /v1/ops/orgs/{org_id}/activity`): requests the
 * gateway answered for its workspace keys and search tokens, and ingestion jobs, newest first. Fed by the
 * usage events (requests) and the ingestion and document lifecycle events (jobs), each with its trace id.
 */

export const JOB_STATUSES = ['queued', 'ready', 'failed', 'deleted'] as const;
export const JobStatus = Type.Union(JOB_STATUSES.map((status) => Type.Literal(status)));

export const ActivityItem = Type.Object({
  /** When the request arrived, or the job's document was accepted (its outcome, if that came first). */
  time: Timestamp,
  kind: Type.Union([Type.Literal('request'), Type.Literal('job')]),
  workspace_id: WorkspaceId,
  /** A request's method and route pattern, e.g. `POST /v1/search`; null for jobs. */
  route: Type.Union([Type.String(), Type.Null()]),
  /** A job's kind (`ingest`, `delete`); null for requests. */
  job: Type.Union([Type.String(), Type.Null()]),
  document_id: Type.Union([DocumentId, Type.Null()]),
  /** The HTTP status of a request; a job's state (queued, ready, failed, deleted). */
  status: Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), JobStatus]),
  /** A request's time to answer; a job's time from acceptance to its outcome (null until both are known). */
  duration_ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  trace_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  /** Why a job failed. */
  error: Type.Union([Type.String(), Type.Null()]),
});
export type ActivityItem = Static<typeof ActivityItem>;

export const ActivityList = ListOf(ActivityItem);
export type ActivityList = Static<typeof ActivityList>;
