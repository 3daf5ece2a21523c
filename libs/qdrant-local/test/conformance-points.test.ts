import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { euclid, normalise, openTarget, sortIds, statusOf, type Target } from './helpers.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget();
});
afterAll(async () => {
  await t.close();
});

describe('points', () => {
  it('upserts both forms and retrieves payloads and vectors (Cosine stored normalised)', async () => {
    const name = t.name('upsert');
    await t.client.createCollection(name, {
      vectors: { cos: { size: 3, distance: 'Cosine' }, dot: { size: 2, distance: 'Dot' } },
      sparse_vectors: { text: {} },
    });
    const upper = randomUUID().toUpperCase();
    const result = await t.client.upsert(name, {
      wait: true,
      points: [
        { id: 1, vector: { cos: [3, 0, 4], dot: [2, -1] }, payload: { a: 1 } },
        {
          id: upper,
          vector: { cos: [0, 2, 0], text: { indices: [7, 3], values: [0.5, 0.25] } },
          payload: { a: 2 },
        },
      ],
    });
    expect(result.status).toBe('completed');
    await t.client.upsert(name, {
      wait: true,
      batch: {
        ids: [10, 11],
        vectors: {
          cos: [
            [1, 1, 0],
            [0, 0, 5],
          ],
        },
        payloads: [{ b: 1 }, null],
      },
    });
    expect((await t.client.getCollection(name)).points_count).toBe(4);
    const [p1] = await t.client.retrieve(name, { ids: [1], with_vector: true });
    expect(p1?.payload).toEqual({ a: 1 });
    const v1 = (p1?.vector ?? {}) as Record<string, number[]>;
    const cos = v1.cos as number[];
    normalise([3, 0, 4]).forEach((x, i) => {
      expect(cos[i]).toBeCloseTo(x, 6);
    });
    expect(v1.dot).toEqual([2, -1]);
    const [p2] = await t.client.retrieve(name, { ids: [upper.toLowerCase()], with_vector: ['text'] });
    expect(p2?.id).toBe(upper.toLowerCase());
    const v2 = (p2?.vector ?? {}) as Record<string, { indices: number[]; values: number[] }>;
    const sparse = v2.text;
    expect(
      sparse?.indices
        .map((i, k) => [i, sparse.values[k]])
        .sort((x, y) => (x[0] as number) - (y[0] as number)),
    ).toEqual([
      [3, 0.25],
      [7, 0.5],
    ]);
    const batch = await t.client.retrieve(name, { ids: [10, 11, 999], with_payload: true });
    expect(batch.map((p) => [p.id, p.payload]).sort()).toEqual([
      [10, { b: 1 }],
      [11, {}],
    ]);
  });

  it('serves a collection with one unnamed vector', async () => {
    const name = t.name('unnamed');
    await t.client.createCollection(name, { vectors: { size: 3, distance: 'Euclid' } });
    const info = await t.client.getCollection(name);
    expect(info.config.params.vectors).toMatchObject({ size: 3, distance: 'Euclid' });
    await t.client.upsert(name, {
      wait: true,
      batch: {
        ids: [1, 2, 3],
        vectors: [
          [0, 0, 0],
          [1, 1, 1],
          [3, 0, 4],
        ],
      },
    });
    const res = await t.client.query(name, { query: [0, 0, 1], with_vector: true });
    expect(res.points.map((p) => p.id)).toEqual([1, 2, 3]);
    const expected = [
      [0, 0, 0],
      [1, 1, 1],
      [3, 0, 4],
    ].map((v) => euclid(v, [0, 0, 1]));
    res.points.forEach((p, i) => {
      expect(p.score).toBeCloseTo(expected[i] as number, 5);
    });
    expect(res.points[2]?.vector).toEqual([3, 0, 4]);
  });

  it('rejects invalid ids, wrong dimensions and unknown vector names with 400', async () => {
    const name = t.name('invalid');
    await t.client.createCollection(name, { vectors: { v: { size: 3, distance: 'Dot' } } });
    expect(
      await statusOf(t.client.upsert(name, { points: [{ id: 'not-a-uuid', vector: { v: [1, 2, 3] } }] })),
    ).toBe(400);
    expect(await statusOf(t.client.upsert(name, { points: [{ id: -1, vector: { v: [1, 2, 3] } }] }))).toBe(
      400,
    );
    expect(await statusOf(t.client.upsert(name, { points: [{ id: 1, vector: { v: [1, 2] } }] }))).toBe(400);
    expect(await statusOf(t.client.upsert(name, { points: [{ id: 1, vector: { nope: [1, 2, 3] } }] }))).toBe(
      400,
    );
    expect(await statusOf(t.client.query(name, { query: [1, 2], using: 'v' }))).toBe(400);
    expect(await statusOf(t.client.query(name, { query: [1, 2, 3], using: 'nope' }))).toBe(400);
    expect((await t.client.count(name)).count).toBe(0);
  });

  it('sets, overwrites, deletes and clears payload by ids and by filter', async () => {
    const name = t.name('payload');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    await t.client.upsert(name, {
      points: [1, 2, 3].map((id) => ({
        id,
        vector: [id, 1],
        payload: { group: id === 3 ? 'y' : 'x', keep: id },
      })),
    });
    await t.client.setPayload(name, { payload: { tag: 'new', keep: null }, points: [1] });
    await t.client.setPayload(name, {
      payload: { flag: true },
      filter: { must: [{ key: 'group', match: { value: 'x' } }] },
    });
    await t.client.setPayload(name, { payload: { deep: 1 }, points: [3], key: 'meta.inner' });
    await t.client.overwritePayload(name, { payload: { only: 'this' }, points: [2] });
    const payloads = Object.fromEntries(
      (await t.client.retrieve(name, { ids: [1, 2, 3] })).map((p) => [p.id, p.payload]),
    );
    expect(payloads[1]).toEqual({ group: 'x', tag: 'new', flag: true });
    expect(payloads[2]).toEqual({ only: 'this' });
    expect(payloads[3]).toEqual({ group: 'y', keep: 3, meta: { inner: { deep: 1 } } });
    await t.client.deletePayload(name, { keys: ['tag', 'meta.inner'], points: [1, 3] });
    await t.client.clearPayload(name, { points: [2] });
    const after = Object.fromEntries(
      (await t.client.retrieve(name, { ids: [1, 2, 3] })).map((p) => [p.id, p.payload]),
    );
    expect(after).toEqual({ 1: { group: 'x', flag: true }, 2: {}, 3: { group: 'y', keep: 3, meta: {} } });
  });

  it('deletes by ids and by filter', async () => {
    const name = t.name('delete');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    await t.client.upsert(name, {
      points: Array.from({ length: 10 }, (_, i) => ({
        id: i,
        vector: [i, 1],
        payload: { even: i % 2 === 0 },
      })),
    });
    await t.client.delete(name, { wait: true, points: [1, 3] });
    await t.client.delete(name, { wait: true, filter: { must: [{ key: 'even', match: { value: true } }] } });
    const left = await t.client.scroll(name, { limit: 100 });
    expect(left.points.map((p) => p.id)).toEqual([5, 7, 9]);
    expect((await t.client.count(name)).count).toBe(3);
  });

  it('acknowledges writes without wait and completes them with wait', async () => {
    const name = t.name('wait');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    const quick = await t.client.upsert(name, { wait: false, points: [{ id: 1, vector: [1, 1] }] });
    expect(quick.status).toBe('acknowledged');
    const durable = await t.client.upsert(name, { wait: true, points: [{ id: 2, vector: [1, 1] }] });
    expect(durable.status).toBe('completed');
    expect(typeof durable.operation_id).toBe('number');
  });
});

describe('scroll and count', () => {
  it('visits every point exactly once in id order (integers before UUIDs) and agrees with count', async () => {
    const name = t.name('scroll');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    const uuids = Array.from({ length: 23 }, () => randomUUID());
    const numbers = Array.from({ length: 34 }, (_, i) => i * 7 + 1);
    const all = [...uuids, ...numbers];
    await t.client.upsert(name, {
      points: all.map((id, i) => ({ id, vector: [i, 1], payload: { odd: i % 2 === 1 } })),
    });
    const seen: (string | number)[] = [];
    let offset: string | number | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await t.client.scroll(name, {
        limit: 10,
        ...(offset === undefined ? {} : { offset }),
        with_payload: false,
      });
      seen.push(...res.points.map((p) => p.id));
      const next = res.next_page_offset;
      if (next === null || next === undefined) break;
      offset = next as string | number;
    }
    expect(seen).toEqual(sortIds(all));
    expect(new Set(seen).size).toBe(all.length);
    expect((await t.client.count(name, { exact: true })).count).toBe(seen.length);

    const filter = { must: [{ key: 'odd', match: { value: true } }] };
    const filtered: (string | number)[] = [];
    offset = undefined;
    for (let page = 0; page < 20; page++) {
      const res = await t.client.scroll(name, {
        limit: 7,
        filter,
        ...(offset === undefined ? {} : { offset }),
      });
      filtered.push(...res.points.map((p) => p.id));
      if (res.next_page_offset === null || res.next_page_offset === undefined) break;
      offset = res.next_page_offset as string | number;
    }
    const expected = sortIds(all.filter((_, i) => i % 2 === 1));
    expect(filtered).toEqual(expected);
    expect((await t.client.count(name, { filter, exact: true })).count).toBe(expected.length);
  });
});
