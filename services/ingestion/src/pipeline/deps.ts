import type { DenseEmbedder, SparseEncoder } from '@kb/embeddings';
import type { Logger } from '@kb/log';
import type { DocumentEvents } from '../domain/events.js';
import type { DeletedWorkspaces } from '../domain/tombstones.js';
import type { IngestionStores } from '../store/documents.js';
import type { Uploads } from '../store/uploads.js';
import type { VectorWriter } from '../store/vectors.js';

/** What the pipeline works with; built once in main.ts (or a test). */
export interface PipelineDeps {
  stores: IngestionStores;
  /** Workspace tombstones (shared with the document operations). */
  workspaces: DeletedWorkspaces;
  uploads: Uploads;
  vectors: VectorWriter;
  embedder: DenseEmbedder;
  sparse: SparseEncoder;
  events: DocumentEvents;
  log: Logger;
  /** Chunks embedded and upserted per batch. */
  batchSize: number;
  /** A document producing more chunks fails (split it, or raise the workspace's chunk size). */
  maxChunks: number;
}

export type Tenant = { org: string; ws: string };
