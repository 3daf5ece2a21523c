import type { SearchQuery, SearchResponse } from '@kb/contracts';
import type { DenseEmbedder, SparseEncoder } from '@kb/embeddings';
import { AppError, unavailable } from '@kb/errors';
import type { TenantContext } from '@kb/tenancy';
import {
  type ChunkPayload,
  collectionName,
  DENSE_VECTOR,
  SPARSE_VECTOR,
  statusOf,
  withTenant,
} from '@kb/vector-store';
import type { QdrantClient, Schemas } from '@qdrant/js-client-rest';
import { filterConditions } from './filter.js';

export interface SearchDeps {
  qdrant: QdrantClient;
  embedder: DenseEmbedder;
  sparse: SparseEncoder;
  timeoutMs: number;
}

type ScoredPoint = Schemas['ScoredPoint'];

/**
 * One search: the collection and the tenant conditions come from the verified context only; the client's
 * filter and a token's restriction are ANDed in; only `live` points are eligible, and per document only the
 * newest version counts, so a search never sees two versions of a document or none.
 */
export async function search(
  deps: SearchDeps,
  tenant: TenantContext,
  request: SearchQuery,
): Promise<SearchResponse> {
  const started = performance.now();
  const signal = AbortSignal.timeout(deps.timeoutMs);
  const filter = withTenant(tenant, {
    must: [
      { key: 'live', match: { value: true } },
      ...filterConditions(request.filter, 'filter'),
      ...filterConditions(request.restrict, 'token.filter'),
    ],
  });
  // Over-fetch so dropping superseded versions still leaves top_k results.
  const limit = Math.min(request.top_k * 2 + 10, 250);
  const points = await withDeadline(signal, async () => {
    const dense =
      request.mode === 'sparse'
        ? null
        : ((await deps.embedder.embed([request.query], { signal }))[0] ?? null);
    const sparse = request.mode === 'dense' ? null : deps.sparse.query(request.query);
    if (sparse && sparse.indices.length === 0 && !dense) return [];
    const body: Schemas['QueryRequest'] = { filter, limit, with_payload: true };
    if (dense && sparse && sparse.indices.length > 0) {
      body.prefetch = [
        { query: dense, using: DENSE_VECTOR, filter, limit },
        { query: sparse, using: SPARSE_VECTOR, filter, limit },
      ];
      body.query = { fusion: 'rrf' };
    } else if (dense) {
      Object.assign(body, { query: dense, using: DENSE_VECTOR });
    } else if (sparse) {
      Object.assign(body, { query: sparse, using: SPARSE_VECTOR });
    }
    try {
      return (await deps.qdrant.query(collectionName(tenant), body)).points;
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw error;
    }
  });
  return {
    results: newestVersions(points).slice(0, request.top_k).map(toResult),
    took_ms: Math.round(performance.now() - started),
  };
}

function newestVersions(points: ScoredPoint[]): ScoredPoint[] {
  const newest = new Map<string, number>();
  for (const point of points) {
    const payload = point.payload as unknown as ChunkPayload;
    newest.set(payload.document_id, Math.max(newest.get(payload.document_id) ?? -1, payload.version));
  }
  return points.filter((point) => {
    const payload = point.payload as unknown as ChunkPayload;
    return payload.version === newest.get(payload.document_id);
  });
}

function toResult(point: ScoredPoint) {
  const payload = point.payload as unknown as ChunkPayload;
  return {
    document_id: payload.document_id,
    chunk_id: String(point.id),
    score: point.score,
    text: payload.text,
    title: payload.title,
    metadata: payload.metadata ?? {},
  };
}

/** Runs `work`, turning a timeout or an unreachable engine into a 503 the client may retry. */
async function withDeadline<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  const deadline = new Promise<never>((_, reject) => {
    signal.addEventListener(
      'abort',
      () => reject(unavailable('search timed out waiting for the vector engine or the embedder', 1)),
      { once: true },
    );
  });
  // The loser of the race must not surface as an unhandled rejection.
  deadline.catch(() => undefined);
  try {
    return await Promise.race([work(), deadline]);
  } catch (error) {
    if (error instanceof AppError) throw error;
    const status = statusOf(error);
    if (status !== undefined && status >= 400 && status < 500)
      throw new AppError('internal', 'search request was refused by the engine', { cause: error });
    throw unavailable('the vector engine is unavailable', 1, error);
  }
}
