import { createHash } from 'node:crypto';

/** Namespace of every point id (a fixed random UUID; changing it would orphan every stored point). */
const POINT_NAMESPACE = Buffer.from('6f1d5c3a8b2e4f7090a1c2d3e4f50617', 'hex');

/** RFC 9562 UUIDv5 (SHA-1, name-based) of `name` in the points' namespace. */
export function uuidv5(name: string, namespace: Buffer = POINT_NAMESPACE): string {
  const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The id of one chunk's point: UUIDv5 of `document_id:version:chunk_index`. Deterministic, so a retried or
 * redelivered ingestion overwrites its own points instead of adding new ones.
 */
export const pointId = (documentId: string, version: number, chunkIndex: number): string =>
  uuidv5(`${documentId}:${version}:${chunkIndex}`);
