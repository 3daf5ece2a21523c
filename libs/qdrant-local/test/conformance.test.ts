import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget, statusOf, type Target } from './helpers.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget();
});
afterAll(async () => {
  await t.close();
});

const CLIENT_MINOR = 18;

describe('server and collections', () => {
  it('answers GET / with a version the client accepts', async () => {
    const info = await t.client.versionInfo();
    expect(info.title).toContain('qdrant');
    const [major, minor] = info.version.split('.').map(Number);
    expect(major).toBe(1);
    expect(Math.abs((minor as number) - CLIENT_MINOR)).toBeLessThanOrEqual(1);
  });

  it('creates, describes, lists and deletes a collection with named dense and sparse vectors', async () => {
    const name = t.name('lifecycle');
    expect(
      await t.client.createCollection(name, {
        vectors: {
          cos: { size: 4, distance: 'Cosine' },
          dot: { size: 3, distance: 'Dot' },
          euc: { size: 2, distance: 'Euclid' },
        },
        sparse_vectors: { text: { modifier: 'idf' } },
      }),
    ).toBe(true);
    expect((await t.client.collectionExists(name)).exists).toBe(true);
    expect((await t.client.getCollections()).collections.map((c) => c.name)).toContain(name);
    const info = await t.client.getCollection(name);
    expect(info.status).toBe('green');
    expect(info.points_count).toBe(0);
    expect(info.config.params.vectors).toMatchObject({
      cos: { size: 4, distance: 'Cosine' },
      dot: { size: 3, distance: 'Dot' },
      euc: { size: 2, distance: 'Euclid' },
    });
    expect(info.config.params.sparse_vectors).toMatchObject({ text: { modifier: 'idf' } });
    expect(info.payload_schema).toEqual({});
    expect(await t.client.deleteCollection(name)).toBe(true);
    expect((await t.client.collectionExists(name)).exists).toBe(false);
  });

  it('answers 409 for an existing collection and 404 for a missing one', async () => {
    const name = t.name('errors');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    expect(await statusOf(t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } }))).toBe(
      409,
    );
    const missing = `qlt_missing_${randomUUID().slice(0, 8)}`;
    expect(await statusOf(t.client.getCollection(missing))).toBe(404);
    expect(await statusOf(t.client.upsert(missing, { points: [{ id: 1, vector: [1, 2] }] }))).toBe(404);
    expect(await statusOf(t.client.query(missing, { query: [1, 2] }))).toBe(404);
    expect(await statusOf(t.client.scroll(missing, {}))).toBe(404);
  });

  it('keeps payload indexes in payload_schema with the number of indexed points', async () => {
    const name = t.name('indexes');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    await t.client.upsert(name, {
      points: [
        {
          id: 1,
          vector: [1, 0],
          payload: {
            tenant: 'a',
            n: 1,
            price: 1.5,
            ok: true,
            at: '2024-01-01T00:00:00Z',
            text: 'hello world',
            u: randomUUID(),
          },
        },
        { id: 2, vector: [0, 1], payload: { tenant: 'b', n: 2, ok: false } },
        { id: 3, vector: [1, 1], payload: { other: 1 } },
      ],
    });
    const schemas = {
      tenant: { type: 'keyword', is_tenant: true },
      n: 'integer',
      price: 'float',
      ok: 'bool',
      at: 'datetime',
      u: 'uuid',
      text: { type: 'text', tokenizer: 'word', lowercase: true },
    } as const;
    for (const [field, schema] of Object.entries(schemas)) {
      const result = await t.client.createPayloadIndex(name, {
        field_name: field,
        field_schema: schema,
        wait: true,
      });
      expect(result.status).toBe('completed');
    }
    const info = await t.client.getCollection(name);
    const expected = {
      tenant: 'keyword',
      n: 'integer',
      price: 'float',
      ok: 'bool',
      at: 'datetime',
      u: 'uuid',
      text: 'text',
    };
    for (const [field, type] of Object.entries(expected))
      expect(info.payload_schema[field]?.data_type).toBe(type);
    expect(info.payload_schema.tenant?.points).toBe(2);
    expect(info.payload_schema.price?.points).toBe(1);
    await t.client.deletePayloadIndex(name, 'price', { wait: true });
    expect((await t.client.getCollection(name)).payload_schema.price).toBeUndefined();
  });
});
