export { type IdAccess, isFerretDB } from './by-id.js';
export {
  createRedisLeases,
  type DocumentLeases,
  type Lease,
  type LeaseOptions,
  useDocumentLeases,
} from './leases.js';
export * from './mongo.js';
export * from './redis.js';
export * from './scoped.js';
