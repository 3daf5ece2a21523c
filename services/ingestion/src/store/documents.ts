import type { ContentType } from '@kb/contracts';
import { type ScopedModel, scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/**
 * A document's record. `version` is the newest upload; `live_version` the one search currently sees (the
 * previous version stays live while a re-upload of the same `external_id` is processed). A version goes
 * from `queued` (or `processing`, for one that takes several embedding batches) to `ready` in one update.
 * `finalizing` (points written, being made live; clients see `processing`) is only found in records left by
 * earlier releases, which took that step in a separate update; the pipeline still completes them.
 */
export type StoredStatus = 'queued' | 'processing' | 'finalizing' | 'ready' | 'failed' | 'deleting';

export interface DocumentDoc {
  _id: string;
  org_id: string;
  workspace_id: string;
  status: StoredStatus;
  version: number;
  live_version: number | null;
  title: string | null;
  /** Metadata as JSON text: keys may hold dots, which not every MongoDB-compatible store accepts. */
  metadata_json: string;
  external_id: string | null;
  content_type: ContentType;
  bytes: number;
  content_hash: string;
  /** The upload of `version`, and the one of `live_version` (deleted once superseded). */
  object: { bucket: string; name: string };
  live_object: string | null;
  /** The workspace's chunking when this version was accepted: a retry chunks exactly as the first try. */
  chunking: { size: number; overlap: number };
  chunks: number;
  error: string | null;
  /** Set by earlier releases when `version`'s points were all written (status `finalizing`). */
  pending: { version: number; chunks: number; title: string | null; bytes: number; object: string } | null;
  /** Usage of the last version made live, so events re-published after a crash carry the same values. */
  usage: { version: number; documents: number; chunks: number; bytes: number } | null;
  /** Uploads of superseded versions, deleted after the swap. */
  retired_objects: string[];
  created_at: Date;
  updated_at: Date;
  queued_at: Date;
  ready_at: Date | null;
}

/** Idempotency keys, content hashes and external ids naming a document in a workspace; `_id` is unique. */
export interface ClaimDoc {
  _id: string;
  org_id: string;
  workspace_id: string;
  kind: 'idempotency' | 'hash' | 'external';
  document_id: string;
  /** For idempotency keys: the content the key was first used with. */
  content_hash: string | null;
  created_at: Date;
  /** Idempotency keys expire (checked on read; the sweeper removes them). */
  expires_at: Date | null;
}

/** Workspaces whose deletion was processed: nothing may be written for them again. */
export interface TombstoneDoc {
  _id: string;
  org_id: string;
  workspace_id: string;
  deleted_at: Date;
}

const SCOPE = { keys: ['org_id', 'workspace_id'] as const };

export interface IngestionStores {
  documents: ScopedModel<DocumentDoc, 'org_id' | 'workspace_id'>;
  claims: ScopedModel<ClaimDoc, 'org_id' | 'workspace_id'>;
  tombstones: ScopedModel<TombstoneDoc, 'org_id' | 'workspace_id'>;
}

export async function createStores(connection: Connection): Promise<IngestionStores> {
  const documentSchema = new Schema<DocumentDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, required: true },
      status: { type: String, required: true },
      version: { type: Number, required: true },
      live_version: { type: Number, default: null },
      title: { type: String, default: null },
      metadata_json: { type: String, default: '{}' },
      external_id: { type: String, default: null },
      content_type: { type: String, required: true },
      bytes: { type: Number, required: true },
      content_hash: { type: String, required: true },
      object: { bucket: String, name: String },
      live_object: { type: String, default: null },
      chunking: { size: Number, overlap: Number },
      chunks: { type: Number, default: 0 },
      error: { type: String, default: null },
      pending: { type: Schema.Types.Mixed, default: null },
      usage: { type: Schema.Types.Mixed, default: null },
      retired_objects: { type: [String], default: [] },
      created_at: { type: Date, required: true },
      updated_at: { type: Date, required: true },
      queued_at: { type: Date, required: true },
      ready_at: { type: Date, default: null },
    },
    { versionKey: false, minimize: false },
  );
  documentSchema.index({ org_id: 1, workspace_id: 1, _id: 1 });
  documentSchema.index({ org_id: 1, workspace_id: 1, status: 1, _id: 1 });
  documentSchema.index({ org_id: 1, workspace_id: 1, external_id: 1 });
  documentSchema.index({ status: 1, updated_at: 1 });

  const claimSchema = new Schema<ClaimDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, required: true },
      kind: { type: String, required: true },
      document_id: { type: String, required: true },
      content_hash: { type: String, default: null },
      created_at: { type: Date, required: true },
      expires_at: { type: Date, default: null },
    },
    { versionKey: false },
  );
  claimSchema.index({ org_id: 1, workspace_id: 1, document_id: 1 });
  claimSchema.index({ expires_at: 1 });

  const tombstoneSchema = new Schema<TombstoneDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, required: true },
      deleted_at: { type: Date, required: true },
    },
    { versionKey: false },
  );

  const stores: IngestionStores = {
    documents: scopedModel(connection, 'IngestionDocument', documentSchema, {
      ...SCOPE,
      collection: 'documents',
    }),
    claims: scopedModel(connection, 'IngestionClaim', claimSchema, {
      ...SCOPE,
      collection: 'document_claims',
    }),
    tombstones: scopedModel(connection, 'IngestionTombstone', tombstoneSchema, {
      ...SCOPE,
      collection: 'deleted_workspaces',
    }),
  };
  await Promise.all(Object.values(stores).map((store) => store.model.init()));
  return stores;
}

export const isDuplicateKey = (error: unknown): boolean =>
  (error as { code?: unknown } | null)?.code === 11000;

/** The scope of a verified workspace-level tenant. */
export const scopeOf = (tenant: { org: string; ws: string }) => ({
  org_id: tenant.org,
  workspace_id: tenant.ws,
});
