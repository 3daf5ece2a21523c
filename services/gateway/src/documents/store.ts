import type { NatsConnection } from '@kb/bus';
import { UPLOAD_BUCKET } from '@kb/contracts';
import { type ObjectStore, Objm, StorageType } from '@nats-io/obj';

export interface UploadStore {
  readonly bucket: string;
  /** Streams `data` into the bucket under `name`; resolves once every chunk is acknowledged. */
  put(name: string, data: ReadableStream<Uint8Array>): Promise<{ bytes: number }>;
  remove(name: string): Promise<void>;
}

/** The uploads bucket (NATS Object Store): uploads travel by reference, never inside messages. */
export async function openUploadStore(nc: NatsConnection, bucket = UPLOAD_BUCKET): Promise<UploadStore> {
  let store: Promise<ObjectStore> | null = null;
  // Opened on first use, so a gateway starts (and answers health checks) even before JetStream is ready.
  const open = () => {
    store ??= new Objm(nc)
      .create(bucket, {
        storage: StorageType.File,
        description: 'uploaded documents awaiting or under ingestion',
      })
      .catch((error: unknown) => {
        store = null;
        throw error;
      });
    return store;
  };
  return {
    bucket,
    async put(name, data) {
      const info = await (await open()).put({ name }, data);
      return { bytes: info.size };
    },
    async remove(name) {
      await (await open()).delete(name);
    },
  };
}
