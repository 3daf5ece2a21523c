import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget, type Target } from './helpers.js';

let t: Target;
let name: string;

/**
 * Payloads chosen to hit each rule of Qdrant's filter semantics: array values, missing fields, explicit nulls,
 * empty arrays, nested objects and arrays of objects. Expected ids are worked out by hand from these payloads.
 */
const POINTS: { id: number; payload: Record<string, unknown> }[] = [
  {
    id: 1,
    payload: {
      color: 'red',
      n: 1,
      price: 9.5,
      tags: ['a', 'b'],
      ok: true,
      at: '2024-01-10T10:00:00Z',
      text: 'The quick brown fox',
      title: 'Quick Brown Fox',
      nested: { k: 'x', deep: { z: 1 } },
      items: [
        { sku: 'A1', qty: 2 },
        { sku: 'B2', qty: 8 },
      ],
      maybe: null,
      loc: { lon: 13.4, lat: 52.5 },
    },
  },
  {
    id: 2,
    payload: {
      color: 'blue',
      n: 2,
      price: 20,
      tags: ['b'],
      ok: false,
      at: '2024-02-01T00:00:00Z',
      text: 'lazy dog sleeps',
      title: 'the lazy dog',
      nested: { k: 'y' },
      items: [{ sku: 'C3', qty: 5 }],
      maybe: [],
      loc: { lon: 2.35, lat: 48.85 },
    },
  },
  {
    id: 3,
    payload: {
      color: 'red',
      n: 3,
      tags: [],
      ok: true,
      text: 'quick thinking',
      title: 'quickly done',
      items: [],
      maybe: [null, 1],
    },
  },
  {
    id: 4,
    payload: {
      color: 'green',
      n: 4,
      price: 5,
      tags: ['c', 'a'],
      at: '2023-12-31T23:59:59Z',
      title: 'fox and dog',
      nested: { k: 'x' },
      maybe: 'v',
    },
  },
  { id: 5, payload: { n: 5.5, price: null, tags: 'a', text: 'Quick fox' } },
  { id: 6, payload: {} },
  {
    id: 7,
    payload: { color: ['red', 'blue'], n: [1, 7], ok: [true, false], items: [{ sku: 'A1', qty: 9 }] },
  },
];

beforeAll(async () => {
  t = await openTarget();
  name = t.name('filters');
  await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
  await t.client.upsert(name, { wait: true, points: POINTS.map((p) => ({ ...p, vector: [p.id, 1] })) });
  // Indexes change how some conditions are evaluated (lookups, full-text tokens); results must not change.
  await t.client.createPayloadIndex(name, { field_name: 'color', field_schema: 'keyword', wait: true });
  await t.client.createPayloadIndex(name, { field_name: 'n', field_schema: 'integer', wait: true });
  await t.client.createPayloadIndex(name, {
    field_name: 'title',
    field_schema: { type: 'text', tokenizer: 'word', lowercase: true },
    wait: true,
  });
});
afterAll(async () => {
  await t.close();
});

const red = { key: 'color', match: { value: 'red' } };

const CASES: [string, Record<string, unknown>, number[]][] = [
  ['match keyword (any array element)', { must: [red] }, [1, 3, 7]],
  ['match integer', { must: [{ key: 'n', match: { value: 1 } }] }, [1, 7]],
  ['match bool', { must: [{ key: 'ok', match: { value: true } }] }, [1, 3, 7]],
  ['match string in a scalar or array field', { must: [{ key: 'tags', match: { value: 'a' } }] }, [1, 4, 5]],
  ['match any', { must: [{ key: 'color', match: { any: ['blue', 'green'] } }] }, [2, 4, 7]],
  [
    'match except (missing fields never match)',
    { must: [{ key: 'color', match: { except: ['red'] } }] },
    [2, 4, 7],
  ],
  [
    'match text without a text index is a substring',
    { must: [{ key: 'text', match: { text: 'quick' } }] },
    [1, 3],
  ],
  [
    'match text with a text index needs every token',
    { must: [{ key: 'title', match: { text: 'quick fox' } }] },
    [1],
  ],
  ['range on numbers', { must: [{ key: 'price', range: { gte: 5, lt: 20 } }] }, [1, 4]],
  ['range on array values', { must: [{ key: 'n', range: { gt: 3 } }] }, [4, 5, 7]],
  [
    'range on datetimes',
    { must: [{ key: 'at', range: { gte: '2024-01-01T00:00:00Z', lt: '2024-02-01T00:00:00Z' } }] },
    [1],
  ],
  [
    'range on datetimes with offsets',
    { must: [{ key: 'at', range: { gte: '2024-01-10T11:00:00+01:00', lte: '2024-01-10T10:00:00Z' } }] },
    [1],
  ],
  ['is_empty: missing, null or []', { must: [{ is_empty: { key: 'tags' } }] }, [3, 6, 7]],
  ['is_empty on nulls and arrays', { must: [{ is_empty: { key: 'maybe' } }] }, [1, 2, 5, 6, 7]],
  ['is_null: null or an array holding null', { must: [{ is_null: { key: 'maybe' } }] }, [1, 3]],
  ['has_id', { must: [{ has_id: [2, 4, 6, 999] }] }, [2, 4, 6]],
  ['values_count', { must: [{ key: 'tags', values_count: { gte: 2 } }] }, [1, 4]],
  ['values_count of an empty array', { must: [{ key: 'items', values_count: { lt: 1 } }] }, [3]],
  ['dotted key', { must: [{ key: 'nested.k', match: { value: 'x' } }] }, [1, 4]],
  ['deeper dotted key', { must: [{ key: 'nested.deep.z', match: { value: 1 } }] }, [1]],
  [
    '[] key fans out over arrays of objects',
    { must: [{ key: 'items[].sku', match: { value: 'A1' } }] },
    [1, 7],
  ],
  [
    'conditions on [] keys match independently',
    {
      must: [
        { key: 'items[].sku', match: { value: 'A1' } },
        { key: 'items[].qty', range: { gt: 5 } },
      ],
    },
    [1, 7],
  ],
  [
    'nested keeps conditions on the same array element',
    {
      must: [
        {
          nested: {
            key: 'items',
            filter: {
              must: [
                { key: 'sku', match: { value: 'A1' } },
                { key: 'qty', range: { gt: 5 } },
              ],
            },
          },
        },
      ],
    },
    [7],
  ],
  [
    'should with must_not',
    {
      should: [red, { key: 'color', match: { value: 'green' } }],
      must_not: [{ key: 'ok', match: { value: true } }],
    },
    [4],
  ],
  [
    'min_should',
    {
      min_should: {
        conditions: [red, { key: 'n', range: { gte: 3 } }, { key: 'tags', match: { any: ['a'] } }],
        min_count: 2,
      },
    },
    [1, 3, 4, 5, 7],
  ],
  [
    'nested clauses',
    {
      must: [
        {
          should: [
            { key: 'price', range: { lt: 6 } },
            { key: 'text', match: { text: 'dog' } },
          ],
        },
        { must_not: [{ key: 'color', match: { value: 'blue' } }] },
      ],
    },
    [4],
  ],
  ['must_not alone', { must_not: [{ key: 'color', match: { any: ['red', 'blue'] } }] }, [4, 5, 6]],
  [
    'geo radius',
    { must: [{ key: 'loc', geo_radius: { center: { lon: 13.41, lat: 52.52 }, radius: 5000 } }] },
    [1],
  ],
  [
    'geo bounding box',
    {
      must: [
        {
          key: 'loc',
          geo_bounding_box: { top_left: { lon: 2, lat: 49 }, bottom_right: { lon: 3, lat: 48 } },
        },
      ],
    },
    [2],
  ],
];

describe('filters', () => {
  it.each(CASES)('%s', async (_label, filter, expected) => {
    const res = await t.client.scroll(name, { filter, limit: 100, with_payload: false });
    expect(res.points.map((p) => p.id)).toEqual(expected);
    expect((await t.client.count(name, { filter, exact: true })).count).toBe(expected.length);
    const query = await t.client.query(name, { query: [1, 0], filter, limit: 100 });
    expect(query.points.map((p) => p.id).sort((a, b) => (a as number) - (b as number))).toEqual(expected);
  });

  it('rejects a malformed condition with 400', async () => {
    const status = await t.client
      .scroll(name, { filter: { must: [{ key: 'color', matches: { value: 'red' } }] } as never })
      .then(
        () => 200,
        (error: { status?: number }) => error.status,
      );
    expect(status).toBe(400);
  });
});
