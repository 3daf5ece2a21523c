import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/**
 * Quota warnings published, one document per warning id (tenant, quota, threshold, month): the unique
 * `_id` is what keeps a warning from being published twice, whatever Redis forgets.
 */
export interface WarningDoc {
  _id: string;
  org_id: string;
  /** null: the organization's plan as a whole. */
  workspace_id: string | null;
  published_at: Date;
}

export function warningsModel(connection: Connection) {
  const schema = new Schema<WarningDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, default: null },
      published_at: { type: Date, required: true },
    },
    { versionKey: false },
  );
  return scopedModel(connection, 'UsageQuotaWarning', schema, {
    keys: ['org_id', 'workspace_id'],
    nullable: ['workspace_id'],
    collection: 'usage_quota_warnings',
  });
}
