import { type ChunkPayload, pointId } from '@kb/vector-store';
import { parseMetadata } from '../domain/views.js';
import { parseDocument } from '../parse/index.js';
import type { IngestTask } from '../queue/fair.js';
import { type DocumentDoc, scopeOf } from '../store/documents.js';
import type { ChunkPoint } from '../store/vectors.js';
import { chunkText } from './chunk.js';
import type { PipelineDeps, Tenant } from './deps.js';
import { ContentError } from './errors.js';
import { announceLive, finalizeVersion } from './finalize.js';

export type Outcome = 'ready' | 'gone' | 'superseded' | 'failed-before' | 'changed';

/**
 * Ingests one version of a document: parse → chunk → embed (batched) → upsert (hidden) → finalize. Safe to
 * run again at any point: the record's status says where a previous attempt stopped, point ids are
 * deterministic, and chunking uses the settings frozen when the version was accepted. Bad content throws
 * ContentError; anything else is transient and left to the job's retries.
 */
export async function ingestVersion(deps: PipelineDeps, task: IngestTask): Promise<Outcome> {
  const tenant: Tenant = { org: task.org, ws: task.ws };
  const docs = deps.stores.documents.in(scopeOf(tenant));
  const record = await docs.findOne({ _id: task.documentId });
  if (!record || record.status === 'deleting') {
    await deps.vectors.removeVersion(tenant, task.documentId, task.version);
    return 'gone';
  }
  if (record.version !== task.version) {
    // A newer upload replaced this one before it went live: drop its points, unless it is the live one.
    if (record.live_version !== task.version)
      await deps.vectors.removeVersion(tenant, task.documentId, task.version);
    return 'superseded';
  }
  switch (record.status) {
    case 'failed':
      return 'failed-before';
    case 'ready':
      await announceLive(deps, tenant, record);
      return 'ready';
    case 'finalizing':
      await finalizeVersion(deps, tenant, record);
      return 'ready';
    default:
      break;
  }
  const started = await docs.findOneAndUpdate(
    { _id: record._id, version: task.version, status: { $in: ['queued', 'processing'] } },
    { $set: { status: 'processing', updated_at: new Date() }, $inc: { attempts: 1 } },
  );
  if (!started) return 'changed';
  if (await deps.stores.tombstones.in(scopeOf(tenant)).findOne({ _id: tenant.ws })) return 'gone';

  const written = await writeChunks(deps, tenant, started);
  // The gate: only a version still being processed (not deleted, not superseded) may go live. Every point
  // was written before this, so a later delete's payload update reaches all of them.
  const finalizing = await docs.findOneAndUpdate(
    { _id: record._id, version: task.version, status: 'processing' },
    {
      $set: {
        status: 'finalizing',
        pending: { version: task.version, ...written, bytes: started.bytes, object: started.object.name },
        updated_at: new Date(),
      },
    },
  );
  if (!finalizing) return ingestVersion(deps, task);
  await finalizeVersion(deps, tenant, finalizing);
  return 'ready';
}

async function writeChunks(
  deps: PipelineDeps,
  tenant: Tenant,
  record: DocumentDoc,
): Promise<{ chunks: number; title: string | null }> {
  const bytes = await deps.uploads.read(record.object.name);
  if (!bytes) throw new ContentError('the uploaded file is no longer available; upload the document again');
  const parsed = await parseDocument(bytes, record.content_type);
  const chunks = chunkText(parsed.text, record.chunking);
  if (chunks.length > deps.maxChunks) {
    throw new ContentError(
      `the document makes ${chunks.length} chunks, more than the ${deps.maxChunks} allowed; ` +
        'split it into smaller documents or raise the workspace chunk_size',
    );
  }
  const title = record.title ?? parsed.title;
  const metadata = parseMetadata(record.metadata_json);
  await deps.vectors.prepare(tenant);
  for (let start = 0; start < chunks.length; start += deps.batchSize) {
    const texts = chunks.slice(start, start + deps.batchSize);
    const dense = await deps.embedder.embed(texts);
    const points: ChunkPoint[] = texts.map((text, offset) => {
      const index = start + offset;
      const payload: ChunkPayload = {
        org_id: tenant.org,
        workspace_id: tenant.ws,
        document_id: record._id,
        version: record.version,
        chunk_index: index,
        text,
        title,
        metadata,
        live: false,
      };
      return {
        id: pointId(record._id, record.version, index),
        dense: dense[offset] as number[],
        sparse: deps.sparse.document(text),
        payload,
      };
    });
    await deps.vectors.upsert(tenant, points);
  }
  return { chunks: chunks.length, title };
}

/**
 * Marks a version failed with `reason` (bad content, or retries exhausted), unless it has moved on. Its
 * points are removed, its content hash released (the same file may be uploaded again), and
 * `evt.document.failed` published. The previous live version, if any, stays searchable.
 */
export async function failVersion(deps: PipelineDeps, task: IngestTask, reason: string): Promise<boolean> {
  const tenant: Tenant = { org: task.org, ws: task.ws };
  const scope = scopeOf(tenant);
  const failed = await deps.stores.documents
    .in(scope)
    .findOneAndUpdate(
      { _id: task.documentId, version: task.version, status: { $in: ['queued', 'processing'] } },
      { $set: { status: 'failed', error: reason.slice(0, 1_000), pending: null, updated_at: new Date() } },
    );
  if (!failed) return false;
  if (failed.live_version !== task.version)
    await deps.vectors.removeVersion(tenant, task.documentId, task.version);
  await deps.stores.claims.in(scope).deleteMany({ document_id: task.documentId, kind: 'hash' });
  await deps.events.document(tenant, {
    documentId: task.documentId,
    outcome: 'failed',
    chunks: 0,
    error: failed.error,
    eventId: `doc:${task.documentId}:v${task.version}:failed`,
  });
  return true;
}
