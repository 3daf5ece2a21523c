import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/** One audit entry; `_id` is the event id, so a record delivered twice is stored once. */
export interface AuditDoc {
  _id: string;
  at: Date;
  action: string;
  /** null for platform-level records and for refusals that named no valid organization. */
  org_id: string | null;
  workspace_id: string | null;
  key_id: string | null;
  request_id: string | null;
  target: string | null;
  detail: string | null;
}

export function auditModel(connection: Connection) {
  const nullableString = { type: String, default: null };
  const schema = new Schema<AuditDoc>(
    {
      _id: { type: String, required: true },
      at: { type: Date, required: true },
      action: { type: String, required: true },
      org_id: nullableString,
      workspace_id: nullableString,
      key_id: nullableString,
      request_id: nullableString,
      target: nullableString,
      detail: nullableString,
    },
    { versionKey: false },
  );
  schema.index({ org_id: 1, at: -1, _id: -1 });
  return scopedModel(connection, 'AuditEntry', schema, {
    keys: ['org_id'],
    nullable: ['org_id'],
    collection: 'audit',
  });
}
