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
   * An object stored in one chunk (every upload up to the bucket's chunk size, 128 KiB), read with one
   * direct get (the bucket's stream allows them) instead of the library's reader, which creates a consumer
   * per object; null when the object is not such a plain one-chunk object, the chunk is not exactly what
   * its info describes, or the direct get fails (a bucket made without direct access).
   */
  async function readOneChunk(info: ObjectInfo): Promise<Uint8Array | null> {
    if (info.chunks !== 1 || info.options?.link) return null;
    const chunk = await jsm.direct
      .getMessage(stream, { last_by_subj: `$O.${bucket}.C.${info.nuid}` })
      .catch(() => null);
    if (!chunk || chunk.data.length !== info.size || !digestMatches(info.digest, chunk.data)) return null;
    return chunk.data;
  }

  return {
    bucket,
    async read(name) {
      const info = await store.info(name);
      if (!info || info.deleted) return null;
      // Anything else (several chunks, a link, a chunk that does not match) goes through the library's
      // reader, which verifies the digest itself.
      return (await readOneChunk(info)) ?? store.getBlob(name);
    },
    async remove(name) {
      // Reads the object's info itself and does nothing for a missing one; deleting a deleted one again
      // rewrites the same tombstone, so a retried removal is harmless.
      await store.delete(name);
    },
  };
}
