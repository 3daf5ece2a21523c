import { randomUUID } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQdrantLocal } from '../src/index.js';
import { REMOTE_API_KEY, REMOTE_URL } from './helpers.js';

// Against a real Qdrant this needs its key; without one there is nothing to check.
const skip = REMOTE_URL !== undefined && REMOTE_API_KEY === undefined;

describe.skipIf(skip)('api key', () => {
  let url: string;
  let key: string;
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    if (REMOTE_URL && REMOTE_API_KEY) {
      url = REMOTE_URL;
      key = REMOTE_API_KEY;
      return;
    }
    key = `key-${randomUUID()}`;
    const server = await startQdrantLocal({ port: 0, apiKey: key });
    url = server.url;
    close = () => server.close();
  });
  afterAll(() => close());

  it('refuses requests without the key or with a wrong one', async () => {
    const none = await fetch(`${url}/collections`);
    expect([401, 403]).toContain(none.status);
    const wrong = await fetch(`${url}/collections`, { headers: { 'api-key': 'wrong' } });
    expect([401, 403]).toContain(wrong.status);
    const upsert = await fetch(`${url}/collections/x/points?wait=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ points: [] }),
    });
    expect([401, 403]).toContain(upsert.status);
  });

  it('accepts the key in the api-key header or as a bearer token, and leaves GET / open', async () => {
    expect((await fetch(`${url}/collections`, { headers: { 'api-key': key } })).status).toBe(200);
    expect((await fetch(`${url}/collections`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${url}/`)).status).toBe(200);
  });

  it('works through the client with apiKey', async () => {
    const client = new QdrantClient({ url, apiKey: key, checkCompatibility: false });
    const name = `qlt_auth_${randomUUID().slice(0, 8)}`;
    await client.createCollection(name, { vectors: { size: 2, distance: 'Dot' } });
    try {
      await client.upsert(name, { wait: true, points: [{ id: 1, vector: [1, 2] }] });
      const res = await client.query(name, { query: [1, 0] });
      expect(res.points.map((p) => p.id)).toEqual([1]);
    } finally {
      await client.deleteCollection(name);
    }
  });
});
