export { createQdrantClient, type QdrantClientOptions } from './client.js';
export {
  type ChunkPayload,
  checkedTenant,
  collectionName,
  DENSE_VECTOR,
  dropCollection,
  ensureCollection,
  forgetCollection,
  SPARSE_VECTOR,
  statusOf,
  type TenantRef,
} from './collection.js';
export { type Condition, documentFilter, type Filter, tenantFilter, withTenant } from './filters.js';
export { pointId, uuidv5 } from './ids.js';
