import { createHash } from 'node:crypto';
import type { HandlerContext } from '@kb/bus';
import {
  type CreateDocumentRequest,
  type CreateDocumentResponse,
  effectiveLimits,
  MAX_METADATA_BYTES,
  PLAN_NAMES,
  type PlanName,
} from '@kb/contracts';
import { AppError, conflict, invalid, notFound } from '@kb/errors';
import { newId } from '@kb/tenancy';
import { toDocument } from '../domain/views.js';
import { acceptedTask } from '../queue/accepted.js';
import { type ClaimDoc, type DocumentDoc, isDuplicateKey, scopeOf } from '../store/documents.js';
import type { HandlerDeps } from './deps.js';

/** How long an Idempotency-Key names its document. */
const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A claim whose document is missing is treated as abandoned only after this (its record may be on its way). */
const CLAIM_GRACE_MS = 30_000;

type Scope = ReturnType<typeof scopeOf>;

/**
 * Records an upload the gateway has put in the object store. Identity rules, all per workspace:
 * an `Idempotency-Key` seen before answers its document (409 if it came with other content); with an
 * `external_id`, the same content answers the existing document and new content becomes its next version;
 * without one, identical content answers the existing document. Otherwise a new document is recorded as
 * `queued`, with the workspace's chunking frozen into it. `created: false` tells the gateway to discard
 * the object it just stored.
 */
export async function createDocument(
  deps: HandlerDeps,
  request: CreateDocumentRequest,
  { tenant }: HandlerContext,
): Promise<CreateDocumentResponse> {
  const scope = scopeOf(tenant);
  if (Buffer.byteLength(JSON.stringify(request.metadata)) > MAX_METADATA_BYTES) {
    throw invalid(`metadata: must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
  }
  if (await deps.workspaces.isDeleted(tenant)) throw notFound('workspace not found');
  const settings = await deps.settings.get(tenant, tenant.rid);
  const plan: PlanName = (PLAN_NAMES as readonly string[]).includes(tenant.plan)
    ? (tenant.plan as PlanName)
    : 'free';
  const limit = effectiveLimits(plan, settings.limits).upload_bytes;
  if (request.object.bytes > limit) {
    throw new AppError(
      'payload-too-large',
      `the upload is ${request.object.bytes} bytes; this workspace accepts at most ${limit}`,
    );
  }
  const idempotency = request.idempotency_key ? idempotencyClaimId(tenant.ws, request.idempotency_key) : null;

  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 40 * attempt));
    if (idempotency) {
      const known = await findByIdempotencyKey(deps, scope, idempotency, request.content_hash);
      if (known) return { created: false, document: toDocument(known) };
    }
    // New content is the common case: its claim is written straight away, and only a claim that exists
    // already is read and followed. An external id is looked up first, since it may name a document.
    let answer = request.external_id ? await matchExternal(deps, scope, request, settings) : null;
    if (answer === null) {
      const inserted = await insertNew(deps, scope, request, settings);
      if (inserted === 'retry') continue;
      answer =
        inserted === 'claimed'
          ? await matchContent(deps, scope, request.content_hash)
          : { doc: inserted, created: true };
    }
    if (answer === 'retry' || answer === null) continue;
    await claimIdempotency(deps, scope, idempotency, answer.doc._id, request.content_hash);
    if (answer.created) await queueAccepted(deps, answer.doc, tenant.rid);
    return { created: answer.created, document: toDocument(answer.doc) };
  }
  throw conflict('the same document is being uploaded concurrently; retry');
}

/**
 * Queues a version as soon as it is recorded, rather than when the gateway's `ingest.requested` comes back
 * through JetStream, whose consumer takes messages in order, every tenant's together. That consumer and
 * the sweeper still queue whatever this misses (Redis unreachable, this process stopping).
 */
async function queueAccepted(deps: HandlerDeps, record: DocumentDoc, requestId: string): Promise<void> {
  try {
    if (await deps.fair.enqueue(acceptedTask(record, requestId))) deps.onQueued?.();
  } catch (error) {
    deps.log.warn(
      { err: error, document_id: record._id },
      'version not queued yet; its message will queue it',
    );
  }
}

const idempotencyClaimId = (ws: string, key: string) =>
  `${ws}:i:${createHash('sha256').update(key).digest('hex')}`;
const hashClaimId = (ws: string, hash: string) => `${ws}:h:${hash}`;
const externalClaimId = (ws: string, externalId: string) =>
  `${ws}:x:${createHash('sha256').update(externalId).digest('hex')}`;

/** The document a claim names, or null after removing the claim if that document is gone for good. */
async function followClaim(
  deps: HandlerDeps,
  scope: Scope,
  claim: ClaimDoc | null,
): Promise<DocumentDoc | 'pending' | null> {
  if (!claim) return null;
  const doc = await deps.stores.documents.in(scope).findOne({ _id: claim.document_id });
  if (doc && doc.status !== 'deleting') return doc;
  if (!doc && Date.now() - claim.created_at.getTime() < CLAIM_GRACE_MS) return 'pending';
  await deps.stores.claims.in(scope).deleteOne({ _id: claim._id, document_id: claim.document_id });
  return null;
}

async function findByIdempotencyKey(
  deps: HandlerDeps,
  scope: Scope,
  claimId: string,
  contentHash: string,
): Promise<DocumentDoc | null> {
  const claim = await deps.stores.claims.in(scope).findOne({ _id: claimId });
  if (claim?.expires_at && claim.expires_at.getTime() < Date.now()) {
    await deps.stores.claims.in(scope).deleteOne({ _id: claimId, expires_at: claim.expires_at });
    return null;
  }
  const doc = await followClaim(deps, scope, claim);
  if (doc === 'pending')
    throw conflict('a request with this Idempotency-Key is still being processed; retry');
  if (doc && claim?.content_hash !== contentHash) {
    throw new AppError('conflict', 'this Idempotency-Key was already used for a different upload');
  }
  return doc;
}

async function matchContent(
  deps: HandlerDeps,
  scope: Scope,
  contentHash: string,
): Promise<{ doc: DocumentDoc; created: false } | 'retry' | null> {
  const claim = await deps.stores.claims
    .in(scope)
    .findOne({ _id: hashClaimId(scope.workspace_id, contentHash) });
  const doc = await followClaim(deps, scope, claim);
  if (doc === 'pending') return 'retry';
  return doc ? { doc, created: false } : null;
}

/** The document with this `external_id`: unchanged (same content) or given the upload as its next version. */
async function matchExternal(
  deps: HandlerDeps,
  scope: Scope,
  request: CreateDocumentRequest,
  settings: { chunk_size: number; chunk_overlap: number },
): Promise<{ doc: DocumentDoc; created: boolean } | 'retry' | null> {
  const externalId = request.external_id as string;
  const claim = await deps.stores.claims
    .in(scope)
    .findOne({ _id: externalClaimId(scope.workspace_id, externalId) });
  const doc = await followClaim(deps, scope, claim);
  if (doc === 'pending') return 'retry';
  if (!doc) return null;
  if (doc.content_hash === request.content_hash && doc.status !== 'failed') return { doc, created: false };
  const now = new Date();
  const next = await deps.stores.documents.in(scope).findOneAndUpdate(
    { _id: doc._id, version: doc.version, status: { $ne: 'deleting' } },
    {
      $set: {
        status: 'queued',
        version: doc.version + 1,
        title: request.title,
        metadata_json: JSON.stringify(request.metadata),
        content_type: request.content_type,
        bytes: request.object.bytes,
        content_hash: request.content_hash,
        object: { bucket: request.object.bucket, name: request.object.name },
        chunking: { size: settings.chunk_size, overlap: settings.chunk_overlap },
        error: null,
        pending: null,
        updated_at: now,
        queued_at: now,
      },
      // The upload of a version that never went live is not needed any more.
      ...(doc.object.name !== doc.live_object ? { $addToSet: { retired_objects: doc.object.name } } : {}),
    },
  );
  return next ? { doc: next, created: true } : 'retry';
}

async function insertNew(
  deps: HandlerDeps,
  scope: Scope,
  request: CreateDocumentRequest,
  settings: { chunk_size: number; chunk_overlap: number },
): Promise<DocumentDoc | 'retry' | 'claimed'> {
  const id = newId('document');
  const now = new Date();
  const claimId = request.external_id
    ? externalClaimId(scope.workspace_id, request.external_id)
    : hashClaimId(scope.workspace_id, request.content_hash);
  try {
    await deps.stores.claims.in(scope).create({
      _id: claimId,
      kind: request.external_id ? 'external' : 'hash',
      document_id: id,
      content_hash: request.content_hash,
      created_at: now,
      expires_at: null,
    });
  } catch (error) {
    // The same content is known (or an upload with the same external id raced this one in).
    if (isDuplicateKey(error)) return request.external_id ? 'retry' : 'claimed';
    throw error;
  }
  return deps.stores.documents.in(scope).create({
    _id: id,
    status: 'queued',
    version: 1,
    live_version: null,
    title: request.title,
    metadata_json: JSON.stringify(request.metadata),
    external_id: request.external_id,
    content_type: request.content_type,
    bytes: request.object.bytes,
    content_hash: request.content_hash,
    object: { bucket: request.object.bucket, name: request.object.name },
    live_object: null,
    chunking: { size: settings.chunk_size, overlap: settings.chunk_overlap },
    chunks: 0,
    error: null,
    pending: null,
    usage: null,
    retired_objects: [],
    created_at: now,
    updated_at: now,
    queued_at: now,
    ready_at: null,
  });
}

async function claimIdempotency(
  deps: HandlerDeps,
  scope: Scope,
  claimId: string | null,
  documentId: string,
  contentHash: string,
): Promise<void> {
  if (!claimId) return;
  const now = new Date();
  try {
    await deps.stores.claims.in(scope).create({
      _id: claimId,
      kind: 'idempotency',
      document_id: documentId,
      content_hash: contentHash,
      created_at: now,
      expires_at: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
    });
  } catch (error) {
    // The same key raced in with the same content: both name the same document, or the next request says 409.
    if (!isDuplicateKey(error)) throw error;
  }
}
