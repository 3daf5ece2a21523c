import { AppError } from '@kb/errors';
import { isId, type TenantContext } from '@kb/tenancy';
import type { QdrantClient } from '@qdrant/js-client-rest';

/** The verified tenant a collection belongs to: a workspace-level context (never `_`). */
export type TenantRef = Pick<TenantContext, 'org' | 'ws'>;

export const DENSE_VECTOR = 'dense';
export const SPARSE_VECTOR = 'sparse';

/** What every point carries; `live` gates visibility to search during a version swap or a delete. */
export interface ChunkPayload {
  org_id: string;
  workspace_id: string;
  document_id: string;
  version: number;
  chunk_index: number;
  text: string;
  title: string | null;
  metadata: Record<string, unknown>;
  live: boolean;
  /** Set (with `live: false`) when the document is being deleted, so a late version swap cannot revive it. */
  deleted?: boolean;
}

export function checkedTenant(tenant: TenantRef): { org: string; ws: string } {
  if (!isId(tenant.org, 'org') || !isId(tenant.ws, 'workspace')) {
    throw new AppError('internal', 'a collection needs a verified workspace-level tenant context');
  }
  return { org: tenant.org, ws: tenant.ws };
}

/** `kb_<org>_<ws>`: derived only from the verified context, never from a request body. */
export function collectionName(tenant: TenantRef): string {
  const { org, ws } = checkedTenant(tenant);
  return `kb_${org}_${ws}`;
}

/** Payload indexes of every collection; metadata fields are deliberately not indexed. */
const PAYLOAD_INDEXES = [
  { field_name: 'org_id', field_schema: { type: 'keyword', is_tenant: true } },
  { field_name: 'workspace_id', field_schema: 'keyword' },
  { field_name: 'document_id', field_schema: 'keyword' },
  { field_name: 'version', field_schema: 'integer' },
  { field_name: 'live', field_schema: 'bool' },
] as const;

/** Collections known to exist with the right dimension, per client: checked once per process. */
const known = new WeakMap<QdrantClient, Set<string>>();

/**
 * Creates the workspace's collection on first use: a Cosine dense vector `dense` of `dimension`, a sparse
 * vector `sparse` with Qdrant's IDF modifier, and the payload indexes. An existing collection whose dense
 * dimension differs is refused with an error naming both, since its vectors cannot be compared.
 */
export async function ensureCollection(
  client: QdrantClient,
  tenant: TenantRef,
  dimension: number,
): Promise<string> {
  const name = collectionName(tenant);
  let cache = known.get(client);
  if (!cache) {
    cache = new Set();
    known.set(client, cache);
  }
  if (cache.has(`${name}:${dimension}`)) return name;
  const { exists } = await client.collectionExists(name);
  if (!exists) {
    try {
      await client.createCollection(name, {
        vectors: { [DENSE_VECTOR]: { size: dimension, distance: 'Cosine' } },
        sparse_vectors: { [SPARSE_VECTOR]: { modifier: 'idf' } },
      });
    } catch (error) {
      // Another replica created it first: fine, the checks below still apply.
      if (statusOf(error) !== 409) throw error;
    }
  }
  await checkDimension(client, name, dimension);
  for (const index of PAYLOAD_INDEXES) {
    await client.createPayloadIndex(name, { wait: true, ...index });
  }
  cache.add(`${name}:${dimension}`);
  return name;
}

async function checkDimension(client: QdrantClient, name: string, dimension: number): Promise<void> {
  const info = await client.getCollection(name);
  const vectors = info.config.params.vectors as
    | Record<string, { size?: number }>
    | { size?: number }
    | undefined;
  const dense =
    vectors && DENSE_VECTOR in vectors
      ? (vectors as Record<string, { size?: number }>)[DENSE_VECTOR]
      : undefined;
  if (dense?.size === undefined) {
    throw new AppError('internal', `collection ${name} has no dense vector named "${DENSE_VECTOR}"`);
  }
  if (dense.size !== dimension) {
    throw new AppError(
      'conflict',
      `collection ${name} stores ${dense.size}-dimensional vectors but the embedder produces ${dimension}; ` +
        'use the original KB_EMBEDDING_DIMENSION or re-create the workspace',
    );
  }
}

/** Drops the workspace's collection (a deleted workspace); true if it existed. */
export async function dropCollection(client: QdrantClient, tenant: TenantRef): Promise<boolean> {
  const name = collectionName(tenant);
  for (const key of known.get(client) ?? []) if (key.startsWith(`${name}:`)) known.get(client)?.delete(key);
  try {
    return await client.deleteCollection(name);
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** Forgets what this process knows about a collection (after it was dropped elsewhere). */
export function forgetCollection(client: QdrantClient, tenant: TenantRef): void {
  const name = collectionName(tenant);
  for (const key of known.get(client) ?? []) if (key.startsWith(`${name}:`)) known.get(client)?.delete(key);
}

/** HTTP status of a Qdrant client error, if it carries one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
