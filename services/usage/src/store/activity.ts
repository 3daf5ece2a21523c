import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/**
 * An organization's recent requests and jobs, for operators (domain/activity.ts). Scoped by organization
 * only: the operator lists an organization's activity across its workspaces. Pruned after a few days.
 */
export interface ActivityDoc {
  /** Requests: `<ws>/<usage event id>/<index>`; jobs: `<ws>/<job>/<document>/<version>`. */
  _id: string;
  org_id: string;
  workspace_id: string;
  kind: 'request' | 'job';
  /** The sort key: a request's arrival, a job's acceptance (its outcome until the acceptance is known). */
  at: Date;
  route: string | null;
  job: string | null;
  document_id: string | null;
  /** HTTP status (requests) or job state. */
  status: number | string;
  /** A request's duration; jobs derive theirs from `accepted_at` and `finished_at`. */
  duration_ms: number | null;
  accepted_at: Date | null;
  finished_at: Date | null;
  trace_id: string | null;
  request_id: string | null;
  error: string | null;
}

export function activityModel(connection: Connection) {
  const schema = new Schema<ActivityDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, required: true },
      kind: { type: String, required: true, enum: ['request', 'job'] },
      at: { type: Date, required: true },
      route: { type: String, default: null },
      job: { type: String, default: null },
      document_id: { type: String, default: null },
      status: { type: Schema.Types.Mixed, required: true },
      duration_ms: { type: Number, default: null },
      accepted_at: { type: Date, default: null },
      finished_at: { type: Date, default: null },
      trace_id: { type: String, default: null },
      request_id: { type: String, default: null },
      error: { type: String, default: null },
    },
    { versionKey: false },
  );
  schema.index({ org_id: 1, at: -1, _id: -1 });
  schema.index({ at: 1 });
  return scopedModel(connection, 'UsageActivity', schema, { keys: ['org_id'], collection: 'usage_activity' });
}
