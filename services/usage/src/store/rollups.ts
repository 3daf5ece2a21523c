import type { UsageMetric } from '@kb/contracts';
import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/**
 * One metric's usage on one UTC day, for a workspace or (workspace_id null) its whole organization: the
 * day's total and a per-hour breakdown (`hours["07"]`), so one atomic `$inc` keeps both granularities.
 * `inflight` holds the ids of the batches being applied to it right now (see domain/recorder.ts); it stays tiny.
 */
export interface RollupDoc {
  /** `<org>|<ws or _>|<metric>|<YYYY-MM-DD>` */
  _id: string;
  org_id: string;
  workspace_id: string | null;
  metric: UsageMetric;
  day: Date;
  value: number;
  hours: Record<string, number>;
  inflight: string[];
}

export function rollupsModel(connection: Connection) {
  const schema = new Schema<RollupDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, default: null },
      metric: { type: String, required: true },
      day: { type: Date, required: true },
      value: { type: Number, required: true, default: 0 },
      hours: { type: Schema.Types.Mixed, default: {} },
      inflight: { type: [String], default: [] },
    },
    { versionKey: false, minimize: false },
  );
  schema.index({ org_id: 1, workspace_id: 1, day: 1 });
  return scopedModel(connection, 'UsageRollup', schema, {
    keys: ['org_id', 'workspace_id'],
    nullable: ['workspace_id'],
    collection: 'usage_rollups',
  });
}
