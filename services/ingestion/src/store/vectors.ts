import type { SparseVector } from '@kb/embeddings';
import {
  type ChunkPayload,
  collectionName,
  documentFilter,
  dropCollection,
  ensureCollection,
  statusOf,
  type TenantRef,
  tenantFilter,
} from '@kb/vector-store';
import type { QdrantClient } from '@qdrant/js-client-rest';

export interface ChunkPoint {
  id: string;
  dense: number[];
  sparse: SparseVector;
  payload: ChunkPayload;
}

/**
 * The ingestion side of a workspace's collection. Every filter carries the tenant (vector-store's
 * `documentFilter`), and the collection name comes from the verified tenant only. Operations on a collection
 * that does not exist (never written, or dropped with its workspace) are no-ops.
 */
export interface VectorWriter {
  readonly dimension: number;
  /** Creates the collection on first use; refuses one of another dimension. */
  prepare(tenant: TenantRef): Promise<void>;
  upsert(tenant: TenantRef, points: ChunkPoint[]): Promise<void>;
  /** One payload update: the version's points become visible to search (unless the document is being deleted). */
  activate(tenant: TenantRef, documentId: string, version: number): Promise<void>;
  /** Removes the points of versions older than `version` (after `activate`); versions start at 1. */
  removeOlder(tenant: TenantRef, documentId: string, version: number): Promise<void>;
  removeVersion(tenant: TenantRef, documentId: string, version: number): Promise<void>;
  /** One payload update hiding every version of the document from search, for good. */
  hide(tenant: TenantRef, documentId: string): Promise<void>;
  removeDocument(tenant: TenantRef, documentId: string): Promise<void>;
  count(tenant: TenantRef, documentId?: string): Promise<number>;
  drop(tenant: TenantRef): Promise<void>;
}

export function createVectorWriter(client: QdrantClient, dimension: number): VectorWriter {
  const ignoreMissing = async (operation: () => Promise<unknown>) => {
    try {
      await operation();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  };
  return {
    dimension,
    prepare: async (tenant) => {
      await ensureCollection(client, tenant, dimension);
    },
    async upsert(tenant, points) {
      if (points.length === 0) return;
      await client.upsert(collectionName(tenant), {
        wait: true,
        points: points.map((point) => ({
          id: point.id,
          vector: { dense: point.dense, sparse: point.sparse },
          payload: point.payload as unknown as Record<string, unknown>,
        })),
      });
    },
    activate: (tenant, documentId, version) =>
      ignoreMissing(() =>
        client.setPayload(collectionName(tenant), {
          wait: true,
          payload: { live: true },
          filter: {
            ...documentFilter(tenant, documentId, { eq: version }),
            must_not: [{ key: 'deleted', match: { value: true } }],
          },
        }),
      ),
    removeOlder: async (tenant, documentId, version) => {
      // A document's first version has nothing older: no round trip for the usual upload.
      if (version <= 1) return;
      await ignoreMissing(() =>
        client.delete(collectionName(tenant), {
          wait: true,
          filter: documentFilter(tenant, documentId, { lt: version }),
        }),
      );
    },
    removeVersion: (tenant, documentId, version) =>
      ignoreMissing(() =>
        client.delete(collectionName(tenant), {
          wait: true,
          filter: documentFilter(tenant, documentId, { eq: version }),
        }),
      ),
    hide: (tenant, documentId) =>
      ignoreMissing(() =>
        client.setPayload(collectionName(tenant), {
          wait: true,
          payload: { live: false, deleted: true },
          filter: documentFilter(tenant, documentId),
        }),
      ),
    removeDocument: (tenant, documentId) =>
      ignoreMissing(() =>
        client.delete(collectionName(tenant), { wait: true, filter: documentFilter(tenant, documentId) }),
      ),
    async count(tenant, documentId) {
      try {
        const result = await client.count(collectionName(tenant), {
          exact: true,
          filter: documentId ? documentFilter(tenant, documentId) : tenantFilter(tenant),
        });
        return result.count;
      } catch (error) {
        if (statusOf(error) === 404) return 0;
        throw error;
      }
    },
    drop: async (tenant) => {
      await dropCollection(client, tenant);
    },
  };
}
