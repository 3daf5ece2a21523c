import { type QdrantLocalServer, startQdrantLocal } from '@kb/qdrant-local';
import { newId } from '@kb/tenancy';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQdrantClient } from './client.js';
import { collectionName, dropCollection, ensureCollection } from './collection.js';
import { documentFilter, tenantFilter } from './filters.js';
import { pointId, uuidv5 } from './ids.js';

let qdrant: QdrantLocalServer;
let client: QdrantClient;

beforeAll(async () => {
  qdrant = await startQdrantLocal({ port: 0 });
  client = createQdrantClient({ url: qdrant.url });
});

afterAll(async () => {
  await qdrant?.close();
});

const tenant = () => ({ org: newId('org'), ws: newId('workspace') });

describe('collection names', () => {
  it('derive from a verified workspace context only', () => {
    const t = tenant();
    expect(collectionName(t)).toBe(`kb_${t.org}_${t.ws}`);
    expect(() => collectionName({ org: t.org, ws: '_' })).toThrow(/workspace-level/);
    expect(() => collectionName({ org: 'org_../x', ws: t.ws })).toThrow();
    expect(() => tenantFilter({ org: t.org, ws: 'ws_bad' })).toThrow();
  });
});

describe('point ids', () => {
  it('are RFC 9562 UUIDv5, deterministic per document, version and chunk', () => {
    // The RFC's own example: the DNS namespace and "www.example.com".
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(uuidv5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    const id = pointId('doc_01hzz', 2, 7);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pointId('doc_01hzz', 2, 7)).toBe(id);
    expect(new Set([id, pointId('doc_01hzz', 3, 7), pointId('doc_01hzz', 2, 8)]).size).toBe(3);
  });
});

describe('ensureCollection', () => {
  it('creates dense and sparse vectors with the payload indexes, once', async () => {
    const t = tenant();
    const name = await ensureCollection(client, t, 16);
    expect(await ensureCollection(client, t, 16)).toBe(name);
    const info = await client.getCollection(name);
    expect(info.config.params.vectors).toMatchObject({ dense: { size: 16, distance: 'Cosine' } });
    expect(info.config.params.sparse_vectors).toMatchObject({ sparse: { modifier: 'idf' } });
    expect(info.payload_schema).toMatchObject({
      org_id: { data_type: 'keyword' },
      workspace_id: { data_type: 'keyword' },
      document_id: { data_type: 'keyword' },
      version: { data_type: 'integer' },
      live: { data_type: 'bool' },
    });
  });

  it('survives concurrent first use and refuses a different dimension with a clear error', async () => {
    const t = tenant();
    await Promise.all([ensureCollection(client, t, 8), ensureCollection(client, t, 8)]);
    const other = createQdrantClient({ url: qdrant.url });
    await expect(ensureCollection(other, t, 12)).rejects.toThrow(
      /stores 8-dimensional vectors .* produces 12/,
    );
  });

  it('filters reads and deletes by tenant and document', async () => {
    const t = tenant();
    const name = await ensureCollection(client, t, 8);
    const vector = Array.from({ length: 8 }, (_, i) => i + 1);
    const point = (doc: string, version: number, chunk: number, org = t.org) => ({
      id: pointId(doc, version, chunk),
      vector: { dense: vector, sparse: { indices: [1], values: [1] } },
      payload: { org_id: org, workspace_id: t.ws, document_id: doc, version, chunk_index: chunk, live: true },
    });
    await client.upsert(name, {
      wait: true,
      points: [
        point('doc_a', 1, 0),
        point('doc_a', 2, 0),
        point('doc_b', 1, 0),
        point('doc_c', 1, 0, newId('org')),
      ],
    });
    expect((await client.count(name, { filter: tenantFilter(t), exact: true })).count).toBe(3);
    expect((await client.count(name, { filter: documentFilter(t, 'doc_a'), exact: true })).count).toBe(2);
    await client.delete(name, { wait: true, filter: documentFilter(t, 'doc_a', { lt: 2 }) });
    expect((await client.count(name, { filter: documentFilter(t, 'doc_a'), exact: true })).count).toBe(1);
    expect(
      (await client.count(name, { filter: documentFilter(t, 'doc_a', { eq: 2 }), exact: true })).count,
    ).toBe(1);
    expect(await dropCollection(client, t)).toBe(true);
    expect(await dropCollection(client, t)).toBe(false);
    expect((await client.collectionExists(name)).exists).toBe(false);
  });
});
