import { createHash, randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { digestMatches, openUploads, type Uploads } from './uploads.js';

/*
 * The uploads bucket as the gateway writes it (the NATS object store client) and this service reads it, on
 * a real NATS server. Every consumer the reads create is seen on the JetStream API subject.
 */
let nc: NatsConnection;
let writer: NatsConnection;
let uploads: Uploads;
const bucket = `uploads_test_${randomBytes(4).toString('hex')}`;
const consumersCreated: string[] = [];

beforeAll(async () => {
  nc = await connect({ servers: inject('natsUrl') });
  writer = await connect({ servers: inject('natsUrl') });
  writer.subscribe(`$JS.API.CONSUMER.CREATE.OBJ_${bucket}.>`, {
    callback: (_error, msg) => {
      consumersCreated.push(msg.subject);
    },
  });
  uploads = await openUploads(nc, bucket);
});

afterAll(async () => {
  await new Objm(writer).open(bucket).then((store) => store.destroy());
  await nc?.close();
  await writer?.close();
});

const put = async (name: string, data: Uint8Array) => {
  const store = await new Objm(writer).open(bucket);
  await store.putBlob({ name }, data);
  return store;
};

/**
 * Stores `size` random bytes as `name` and reads them back through `uploads`: whether the bytes read are the
 * ones stored (compared with equals(): the runner's deep equality of buffers this size takes seconds), and
 * how many consumers the read created.
 */
const readBack = async (name: string, size: number) => {
  const data = randomBytes(size);
  await put(name, data);
  await writer.flush();
  const before = consumersCreated.length;
  const read = Buffer.from((await uploads.read(name)) ?? []);
  await writer.flush();
  return {
    matches: read.length === data.length && read.equals(data),
    consumers: consumersCreated.length - before,
  };
};

describe('reading uploads', () => {
  it('reads a one-chunk upload whole, with one direct get and no consumer', async () => {
    const { matches, consumers } = await readBack('small', 20_000);
    expect(matches).toBe(true);
    expect(consumers).toBe(0);
  });

  it('reads an upload of several chunks whole, with a direct get per chunk and no consumer', async () => {
    const { matches, consumers } = await readBack('several', 300_000);
    expect(matches).toBe(true);
    expect(consumers).toBe(0);
  });

  it('reads an upload of more than 16 chunks through the object store reader', async () => {
    const { matches, consumers } = await readBack('large', 17 * 128 * 1024 + 1);
    expect(matches).toBe(true);
    expect(consumers).toBeGreaterThan(0);
  });

  it('never returns an upload of several chunks with one of them gone', async () => {
    const store = await put('holed', randomBytes(300_000));
    const info = await store.info('holed');
    const jsm = await jetstreamManager(writer);
    const chunk = await jsm.direct.getMessage(`OBJ_${bucket}`, {
      next_by_subj: `$O.${bucket}.C.${info?.nuid}`,
    });
    expect(await jsm.streams.deleteMessage(`OBJ_${bucket}`, chunk?.seq as number)).toBe(true);
    const outcome = await uploads.read('holed').then(
      (bytes) => Buffer.from(bytes ?? []),
      (error: unknown) => error,
    );
    expect(outcome).not.toBeInstanceOf(Buffer);
  });

  it('answers null for an upload that is missing or deleted, and empty bytes for an empty one', async () => {
    expect(await uploads.read('never-stored')).toBeNull();
    const store = await put('gone', randomBytes(100));
    await store.delete('gone');
    expect(await uploads.read('gone')).toBeNull();
    await put('empty', new Uint8Array());
    expect((await uploads.read('empty'))?.length).toBe(0);
  });

  it('removes an upload, and removing it again or one never stored changes nothing', async () => {
    await put('removed', randomBytes(500));
    await uploads.remove('removed');
    expect(await uploads.read('removed')).toBeNull();
    await uploads.remove('removed');
    await uploads.remove('never-stored');
    expect(await uploads.read('removed')).toBeNull();
    const info = await (await new Objm(writer).open(bucket)).info('removed');
    expect(info?.deleted).toBe(true);
    expect(await (await new Objm(writer).open(bucket)).info('never-stored')).toBeNull();
  });

  it('never returns a chunk that does not match the digest the upload was stored with', async () => {
    const data = randomBytes(1_000);
    const store = await put('tampered', data);
    const info = await store.info('tampered');
    // Another chunk on the object's chunk subject: the newest one there is no longer the stored bytes.
    await writer.publish(`$O.${bucket}.C.${info?.nuid}`, randomBytes(1_000));
    await writer.flush();
    const read = uploads.read('tampered').then(
      (bytes) => Buffer.from(bytes ?? []),
      (error: unknown) => error,
    );
    const outcome = await read;
    expect(outcome).not.toBeInstanceOf(Buffer);
    expect(String(outcome)).toMatch(/digest|corrupt/i);
  });
});

describe('digestMatches', () => {
  const data = Buffer.from('the stored bytes');
  const sha = createHash('sha256').update(data).digest();

  it('accepts the digest in the encodings NATS clients write', () => {
    for (const encoded of [
      sha.toString('base64url'),
      `${sha.toString('base64url')}=`,
      sha.toString('base64'),
      sha.toString('hex'),
      sha.toString('hex').toUpperCase(),
    ]) {
      expect(digestMatches(`SHA-256=${encoded}`, data)).toBe(true);
    }
  });

  it('refuses other bytes, another algorithm or a malformed digest', () => {
    expect(digestMatches(`SHA-256=${sha.toString('base64url')}`, Buffer.from('other bytes'))).toBe(false);
    expect(digestMatches(`SHA-512=${sha.toString('base64url')}`, data)).toBe(false);
    expect(digestMatches('SHA-256=', data)).toBe(false);
    expect(digestMatches(sha.toString('hex'), data)).toBe(false);
  });
});
