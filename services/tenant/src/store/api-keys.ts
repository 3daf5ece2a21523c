import { scopedModel } from '@kb/store';
import type { KeyEnvironment } from '@kb/tenancy';
import { type Connection, Schema } from 'mongoose';

/** An API key as stored: never the key itself, only its keyed hash and a short display prefix. */
export interface ApiKeyDoc {
  _id: string;
  org_id: string;
  /** null for organization-admin keys. */
  workspace_id: string | null;
  name: string;
  prefix: string;
  hash: string;
  scopes: string[];
  environment: KeyEnvironment;
  expires_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export function apiKeysModel(connection: Connection) {
  const schema = new Schema<ApiKeyDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, default: null },
      name: { type: String, required: true },
      prefix: { type: String, required: true },
      hash: { type: String, required: true },
      scopes: { type: [String], required: true },
      environment: { type: String, required: true },
      expires_at: { type: Date, default: null },
      created_at: { type: Date, required: true },
      last_used_at: { type: Date, default: null },
      revoked_at: { type: Date, default: null },
    },
    { versionKey: false },
  );
  // Verification looks keys up by hash alone: the one deliberate cross-tenant read.
  schema.index({ hash: 1 }, { unique: true });
  schema.index({ org_id: 1, workspace_id: 1, _id: 1 });
  return scopedModel(connection, 'ApiKey', schema, {
    keys: ['org_id', 'workspace_id'],
    nullable: ['workspace_id'],
    collection: 'api_keys',
  });
}
