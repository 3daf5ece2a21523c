import type { Document, DocumentStatus } from '@kb/contracts';
import type { DocumentDoc, StoredStatus } from '../store/documents.js';

const PUBLIC_STATUS: Record<StoredStatus, DocumentStatus> = {
  queued: 'queued',
  processing: 'processing',
  finalizing: 'processing',
  ready: 'ready',
  failed: 'failed',
  deleting: 'deleting',
};

/** The stored statuses behind a public one (for list filters). */
export const storedStatuses = (status: DocumentStatus): StoredStatus[] =>
  (Object.keys(PUBLIC_STATUS) as StoredStatus[]).filter((stored) => PUBLIC_STATUS[stored] === status);

export function toDocument(doc: DocumentDoc): Document {
  return {
    id: doc._id,
    status: PUBLIC_STATUS[doc.status],
    title: doc.title,
    metadata: parseMetadata(doc.metadata_json),
    external_id: doc.external_id,
    content_type: doc.content_type,
    bytes: doc.bytes,
    chunks: doc.chunks,
    content_hash: doc.content_hash,
    error: doc.error,
    version: doc.version,
    created_at: doc.created_at.toISOString(),
    updated_at: doc.updated_at.toISOString(),
  };
}

export function parseMetadata(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
