import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './http.ts';
import { type Platform, startPlatform } from './platform.ts';
import { createOrg, createWorkspace } from './tenants.ts';

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform(['gateway', 'tenant']);
});

afterAll(async () => {
  await platform?.stop();
});

describe('stored credentials', () => {
  it('keeps no substring of any issued key anywhere in the tenant database', async () => {
    const issued: string[] = [];
    const org = await createOrg(platform, 'Hashed');
    issued.push(org.adminKey);
    for (const name of ['one', 'two', 'three']) {
      const ws = await createWorkspace(platform, org, name, ['search']);
      issued.push(ws.key);
      // Use each key once so last-used bookkeeping runs too.
      await client(platform.gatewayUrl, ws.key)('POST', '/v1/tokens', {});
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const connection = await mongoose
      .createConnection(platform.envOf('tenant').KB_MONGO_URL ?? '')
      .asPromise();
    try {
      const db = connection.db;
      if (!db) throw new Error('no database handle');
      const collections = await db.listCollections().toArray();
      expect(collections.length).toBeGreaterThan(0);
      const dump = (
        await Promise.all(collections.map((c) => db.collection(c.name).find({}).toArray()))
      ).flat();
      const text = JSON.stringify(dump);
      expect(text).toContain(org.id);
      for (const key of issued) {
        const secret = key.slice(8);
        // Every 8-character window of the secret part of every key.
        for (let i = 0; i + 8 <= secret.length; i += 1) {
          expect(text.includes(secret.slice(i, i + 8)), `found part of a key at offset ${i}`).toBe(false);
        }
      }
    } finally {
      await connection.close();
    }
  });
});
