import type { NatsConnection } from '@kb/bus';
import { UPLOAD_BUCKET } from '@kb/contracts';
import { type ObjectStore, Objm, StorageType } from '@nats-io/obj';

export interface Uploads {
  readonly bucket: string;
  /** The bytes of an upload, or null when it no longer exists. */
  read(name: string): Promise<Uint8Array | null>;
  /** Removes an upload; a missing one is fine. */
  remove(name: string): Promise<void>;
}

/** Opens (creating if needed) the uploads bucket: the gateway writes uploads, this service reads and deletes them. */
export async function openUploads(nc: NatsConnection, bucket = UPLOAD_BUCKET): Promise<Uploads> {
  const store: ObjectStore = await new Objm(nc).create(bucket, {
    storage: StorageType.File,
    description: 'uploaded documents awaiting or under ingestion',
  });
  return {
    bucket,
    read: (name) => store.getBlob(name),
    async remove(name) {
      const info = await store.info(name);
      if (info && !info.deleted) await store.delete(name);
    },
  };
}
