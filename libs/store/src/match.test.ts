import { uniqueName } from '@kb/testing';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compileFilter } from './match.js';

let client: mongoose.mongo.MongoClient;
let collection: mongoose.mongo.Collection<Record<string, unknown>>;

const day = (n: number) => new Date(Date.UTC(2026, 0, n));
const DOCS: Record<string, unknown>[] = [
  { _id: 'd1', status: 'queued', version: 1, live: null, tags: ['a', 'b'], at: day(1), title: 'Zeta' },
  { _id: 'd2', status: 'processing', version: 2, live: 1, tags: [], at: day(2), title: 'alpha' },
  { _id: 'd3', status: 'ready', version: 3, live: 3, tags: ['b'], at: day(3) },
  { _id: 'd4', status: 'deleting', version: 1, live: 0, tags: ['c', null], at: day(4), title: null },
  { _id: 'd5', status: 'failed', version: 10, tags: 'b', title: 'Ärger' },
];

const FILTERS: Record<string, unknown>[] = [
  { status: 'queued' },
  { status: { $ne: 'deleting' } },
  { status: { $in: ['queued', 'processing'] } },
  { status: { $nin: ['ready', 'failed'] }, version: 1 },
  { live: null },
  { live: { $ne: null } },
  { live: { $lt: 3 } },
  { $or: [{ live: null }, { live: { $lt: 2 } }] },
  { $and: [{ version: { $gte: 2 } }, { version: { $lte: 3 } }] },
  { $nor: [{ status: 'ready' }, { version: { $gt: 5 } }] },
  { tags: 'b' },
  { tags: { $ne: 'b' } },
  { tags: null },
  { tags: { $in: ['c', 'x'] } },
  { tags: { $exists: true }, title: { $exists: false } },
  { at: { $lt: day(3) } },
  { at: day(2) },
  { title: { $gt: 'Z' } },
  { title: { $lte: 'alpha' } },
  { version: { $gt: 1, $lt: 10 } },
  { status: { $eq: 'ready' }, live: 3 },
];

beforeAll(async () => {
  client = await new mongoose.mongo.MongoClient(`${inject('mongoUrl')}${uniqueName('match')}`).connect();
  collection = client.db().collection('docs');
  await collection.insertMany(DOCS as never[]);
});

afterAll(async () => {
  await client?.db().dropDatabase();
  await client?.close();
});

describe('the in-process filter matcher', () => {
  it('selects the same documents as the database for every supported filter', async () => {
    for (const filter of FILTERS) {
      const matches = compileFilter(filter);
      expect(matches, JSON.stringify(filter)).not.toBeNull();
      const here = DOCS.filter((doc) => matches?.(doc)).map((doc) => doc._id);
      const server = (await collection.find(filter).sort({ _id: 1 }).toArray()).map((doc) => doc._id);
      expect(here, JSON.stringify(filter)).toEqual(server);
    }
  });

  it('declines what it does not implement, so such filters go to the database', () => {
    for (const filter of [
      { 'nested.field': 1 },
      { title: /alp/ },
      { tags: { $elemMatch: { $eq: 'a' } } },
      { tags: ['a', 'b'] },
      { object: { bucket: 'x' } },
      { version: { $lt: null } },
      { version: { $mod: [2, 0] } },
      { $where: 'true' },
      { $or: [] },
      { status: undefined },
    ]) {
      expect(compileFilter(filter as Record<string, unknown>), JSON.stringify(filter)).toBeNull();
    }
  });
});
