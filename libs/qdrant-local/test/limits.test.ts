import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget, type Target } from './helpers.js';

let t: Target;
let headers: Record<string, string>;
beforeAll(async () => {
  t = await openTarget();
  headers = { 'content-type': 'application/json', ...(t.apiKey ? { 'api-key': t.apiKey } : {}) };
});
afterAll(async () => {
  await t.close();
});

describe('bad input over raw HTTP', () => {
  it('answers 400 with Qdrant error envelope for malformed JSON and keeps serving', async () => {
    const name = t.name('limits');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    const res = await fetch(`${t.url}/collections/${name}/points/scroll`, {
      method: 'POST',
      headers,
      body: '{"limit": ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { status?: { error?: string } };
    expect(typeof body.status?.error).toBe('string');
    expect((await t.client.count(name)).count).toBe(0);
  });

  it('answers 400 for a zero limit and for a filter of the wrong shape', async () => {
    const name = t.name('limits');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    const zero = await fetch(`${t.url}/collections/${name}/points/scroll`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ limit: 0 }),
    });
    expect(zero.status).toBe(400);
    const filter = await fetch(`${t.url}/collections/${name}/points/count`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ filter: { must: [{ key: 'a', range: { gt: 'not a date' } }] } }),
    });
    expect(filter.status).toBe(400);
  });

  it('refuses bodies over the request size limit with 413', async () => {
    const name = t.name('limits');
    await t.client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    const big = JSON.stringify({
      points: [{ id: 1, vector: [1, 2], payload: { blob: 'x'.repeat(40 * 1024 * 1024) } }],
    });
    const res = await fetch(`${t.url}/collections/${name}/points?wait=true`, {
      method: 'PUT',
      headers,
      body: big,
    });
    expect(res.status).toBe(413);
    expect((await t.client.count(name)).count).toBe(0);
  });
});
