import type { WorkspaceSettings } from '@kb/contracts';
import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

export interface WorkspaceDoc {
  _id: string;
  org_id: string;
  name: string;
  environment: 'development' | 'staging' | 'production';
  /** `deleting` from the delete request on; such a workspace no longer exists for any reader. */
  status: 'active' | 'deleting';
  settings: WorkspaceSettings;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export function workspacesModel(connection: Connection) {
  const schema = new Schema<WorkspaceDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      name: { type: String, required: true },
      environment: { type: String, required: true },
      status: { type: String, required: true },
      settings: {
        chunk_size: { type: Number, required: true },
        chunk_overlap: { type: Number, required: true },
        limits: { type: Schema.Types.Mixed, default: {} },
      },
      created_at: { type: Date, required: true },
      updated_at: { type: Date, required: true },
      deleted_at: { type: Date, default: null },
    },
    { versionKey: false, minimize: false },
  );
  schema.index({ org_id: 1, status: 1, _id: 1 });
  return scopedModel(connection, 'Workspace', schema, { keys: ['org_id'], collection: 'workspaces' });
}
