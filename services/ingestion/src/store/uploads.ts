import { createHash } from 'node:crypto';
import type { NatsConnection } from '@kb/bus';
import { UPLOAD_BUCKET } from '@kb/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { type ObjectInfo, type ObjectStore, Objm, StorageType } from '@nats-io/obj';

export interface Uploads {
  readonly bucket: string;
  /** The bytes of an upload, or null when it no longer exists. */
  read(name: string): Promise<Uint8Array | null>;
  /** Removes an upload; a missing one is fine. */
  remove(name: string): Promise<void>;
}

const DIGEST_PREFIX = 'SHA-256=';
/** Chunks of an upload read with direct gets; a larger one goes through the object store's reader. */
const DIRECT_CHUNKS = 16;

/** Whether `digest` (the object's `SHA-256=` digest, in any encoding NATS clients write) is that of `data`. */
export function digestMatches(digest: string, data: Uint8Array): boolean {
  if (!digest.startsWith(DIGEST_PREFIX)) return false;
  const written = digest.slice(DIGEST_PREFIX.length).replace(/=+$/, '');
  const sha = createHash('sha256').update(data).digest();
  // Base64 is compared as written; hex in either case.
  return (
    written === sha.toString('base64url') ||
    written === sha.toString('base64').replace(/=+$/, '') ||
    written.toLowerCase() === sha.toString('hex')
  );
}

/** Opens (creating if needed) the uploads bucket: the gateway writes uploads, this service reads and deletes them. */
export async function openUploads(nc: NatsConnection, bucket = UPLOAD_BUCKET): Promise<Uploads> {
  const store: ObjectStore = await new Objm(nc).create(bucket, {
    storage: StorageType.File,
    description: 'uploaded documents awaiting or under ingestion',
  });
  const jsm = await jetstreamManager(nc);
  const stream = `OBJ_${bucket}`;

  /**
   * An object of up to DIRECT_CHUNKS chunks (uploads up to 16 × 128 KiB), read with one direct get per chunk
   * (the bucket's stream allows them) instead of the library's reader, which creates a consumer per object;
   * null when the object is a link or larger, a chunk is missing, the bytes are not exactly what its info
   * describes, or a direct get fails (a bucket made without direct access).
   */
  async function readDirect(info: ObjectInfo): Promise<Uint8Array | null> {
    if (info.chunks < 1 || info.chunks > DIRECT_CHUNKS || info.options?.link) return null;
    const subject = `$O.${bucket}.C.${info.nuid}`;
    const parts: Uint8Array[] = [];
    if (info.chunks === 1) {
      const chunk = await jsm.direct.getMessage(stream, { last_by_subj: subject }).catch(() => null);
      if (!chunk) return null;
      parts.push(chunk.data);
    } else {
      // The object's chunks in the order they were stored: each the first on its subject after the previous.
      let seq = 0;
      while (parts.length < info.chunks) {
        const chunk = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject }).catch(() => null);
        if (!chunk) return null;
        parts.push(chunk.data);
        seq = chunk.seq + 1;
      }
    }
    const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    return data.length === info.size && digestMatches(info.digest, data) ? data : null;
  }

  return {
    bucket,
    async read(name) {
      const info = await store.info(name);
      if (!info || info.deleted) return null;
      // Anything else (a larger object, a link, bytes that do not match) goes through the library's reader,
      // which verifies the digest itself.
      return (await readDirect(info)) ?? store.getBlob(name);
    },
    async remove(name) {
      // Reads the object's info itself and does nothing for a missing one; deleting a deleted one again
      // rewrites the same tombstone, so a retried removal is harmless.
      await store.delete(name);
    },
  };
}
