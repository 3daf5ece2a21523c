import { type ChunkPayload, pointId } from '@kb/vector-store';
import { parseMetadata } from '../domain/views.js';
import { parseDocument } from '../parse/index.js';
import type { IngestTask } from '../queue/fair.js';
import { type DocumentDoc, scopeOf } from '../store/documents.js';
import type { ChunkPoint } from '../store/vectors.js';
import { chunkText } from './chunk.js';
import type { PipelineDeps, Tenant } from './deps.js';
import { ContentError } from './errors.js';
import { announceLive, goLive, type Outcome, type WrittenVersion } from './finalize.js';

/**
 * Ingests one version of a document: parse → chunk → embed (batched) → upsert (hidden) → activate → one
 * compare-and-set of the record (`goLive`). Safe to run again at any point: the record's status says where
 * a previous attempt stopped, point ids are deterministic, and chunking uses the settings frozen when the
 * version was accepted. A version stays `queued` while it is processed, unless it needs more than one
 * embedding batch: then it is marked `processing` first, so a client sees the longer work under way. Bad
 * content throws ContentError; anything else is transient and left to the job's retries.
 */
export async function ingestVersion(deps: PipelineDeps, task: IngestTask): Promise<Outcome> {
  const tenant: Tenant = { org: task.org, ws: task.ws };
  const docs = deps.stores.documents.in(scopeOf(tenant));
  const record = await docs.findOne({ _id: task.documentId });
  const done = await settledOutcome(deps, tenant, task, record);
  if (done || !record) return done ?? 'gone';
  if (await deps.workspaces.isDeleted(tenant)) return 'gone';
  const result = await writeChunks(deps, tenant, record);
  // The record moved on while it was being marked `processing`: decide again from what it is now.
  if (!result) return ingestVersion(deps, task);
  // The gate: only a version still waiting (not deleted, not replaced) is made visible. Every point was
  // written before this read, so a deletion after it hides all of them, and `activate` skips hidden ones.
  const gate = await docs.findOne({ _id: record._id });
  if (gate?.version !== task.version || !WAITING.has(gate.status)) return ingestVersion(deps, task);
  await deps.vectors.activate(tenant, record._id, task.version);
  return goLive(deps, tenant, gate, result.written);
}

const WAITING = new Set(['queued', 'processing']);

/** The outcome for a record that is not waiting to be processed for `task`'s version, else null. */
async function settledOutcome(
  deps: PipelineDeps,
  tenant: Tenant,
  task: IngestTask,
  record: DocumentDoc | null,
): Promise<Outcome | null> {
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
      // Points another run wrote after the failure removed them would stay behind, uncounted.
      if (record.live_version !== task.version)
        await deps.vectors.removeVersion(tenant, task.documentId, task.version);
      return 'failed-before';
    case 'ready':
      await announceLive(deps, tenant, record);
      return 'ready';
    case 'finalizing': {
      // Left by an earlier release: every point is written and `pending` says what goes live.
      if (!record.pending) throw new Error(`document ${record._id} is finalizing without pending counts`);
      await deps.vectors.activate(tenant, record._id, record.pending.version);
      return goLive(deps, tenant, record, record.pending);
    }
    default:
      return null;
  }
}

/**
 * Reads, parses, chunks, embeds and upserts the version's points (hidden). Null when the record changed
 * before the work began (see `ingestVersion`); otherwise what was written.
 */
async function writeChunks(
  deps: PipelineDeps,
  tenant: Tenant,
  record: DocumentDoc,
): Promise<{ written: WrittenVersion } | null> {
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
  if (chunks.length > deps.batchSize && record.status === 'queued') {
    const marked = await deps.stores.documents
      .in(scopeOf(tenant))
      .findOneAndUpdate(
        { _id: record._id, version: record.version, status: 'queued' },
        { $set: { status: 'processing', updated_at: new Date() } },
      );
    if (!marked) return null;
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
  const written = {
    version: record.version,
    chunks: chunks.length,
    title,
    bytes: record.bytes,
    object: record.object.name,
  };
  return { written };
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
