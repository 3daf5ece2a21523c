import { createHash } from 'node:crypto';
import { getSha256Backend, Objm, StorageType } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { natsConnection } from './helpers.js';

describe('connectNats', () => {
  it('has the object store hash through node:crypto, and its digests are the SHA-256 of the bytes', async () => {
    const nc = await natsConnection();
    const store = await new Objm(nc).create(`connect-test-${Date.now()}`, { storage: StorageType.Memory });
    try {
      expect(getSha256Backend()).toBe('native');
      const bytes = new TextEncoder().encode('a document body '.repeat(20_000));
      const info = await store.putBlob({ name: 'doc' }, bytes);
      const expected = createHash('sha256').update(bytes).digest('base64url');
      expect(info.digest).toBe(`SHA-256=${expected}=`);
      expect(await store.getBlob('doc')).toEqual(bytes);
    } finally {
      await store.destroy();
      await nc.drain();
    }
  });
});
