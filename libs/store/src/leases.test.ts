import { uniqueName } from '@kb/testing';
import { Redis } from 'ioredis';
import mongoose, { type Connection, Schema } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisLeases, useDocumentLeases } from './leases.js';
import { type ScopedModel, scopedModel } from './scoped.js';

interface Job {
  _id: string;
  org_id: string;
  status: string;
  owner: number | null;
  count: number;
}

const A = { org_id: 'org_a' };
const database = uniqueName('leases');
let redis: Redis;
/** Two connections with their own models, as two processes of a service would have. */
const processes: { connection: Connection; jobs: ScopedModel<Job, 'org_id'> }[] = [];

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  for (let i = 0; i < 2; i++) {
    const connection = await mongoose.createConnection(`${inject('mongoUrl')}${database}`).asPromise();
    useDocumentLeases(connection, createRedisLeases(redis, { prefix: `test:${database}` }));
    const schema = new Schema<Job>(
      { _id: String, org_id: String, status: String, owner: Number, count: Number },
      { versionKey: false },
    );
    const jobs = scopedModel(connection, 'LeasedJob', schema, {
      keys: ['org_id'],
      collection: 'leased_jobs',
      idAccess: 'by-id',
    });
    await jobs.model.init();
    processes.push({ connection, jobs });
  }
});

afterAll(async () => {
  await processes[0]?.connection.dropDatabase();
  await Promise.all(processes.map((p) => p.connection.close()));
  redis?.disconnect();
});

const jobsOf = (i: number) => (processes[i] as (typeof processes)[number]).jobs.in(A);

describe('document leases (by-id writes across processes)', () => {
  it('let exactly one compare-and-set win when two processes race for a document', async () => {
    for (let round = 0; round < 5; round++) {
      const _id = `race${round}`;
      await jobsOf(0).create({ _id, status: 'queued', owner: null, count: 0 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, owner) =>
          jobsOf(owner % 2).findOneAndUpdate({ _id, status: 'queued' }, { $set: { status: 'taken', owner } }),
        ),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect((await jobsOf(1).findOne({ _id }))?.owner).toBe(winners[0]?.owner);
    }
  });

  it('lose no update when two processes change the same document at once', async () => {
    await jobsOf(0).create({ _id: 'counter', status: 'open', owner: null, count: 0 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        jobsOf(i % 2).updateOne({ _id: 'counter', status: 'open' }, { $inc: { count: 1 } }),
      ),
    );
    expect((await jobsOf(0).findOne({ _id: 'counter' }))?.count).toBe(20);
  });

  it('release the lease when the write fails, and wait out a lease its holder never released', async () => {
    const leases = createRedisLeases(redis, { prefix: `test:${database}:lapse`, ttlMs: 2_000, holdMs: 1_000 });
    await expect(
      leases.hold('doc', async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    // Released at once, not left to lapse: the key is gone and the next holder does not wait out the 2 s.
    expect(await redis.exists(`test:${database}:lapse:lease:doc`)).toBe(0);
    const next = Date.now();
    expect(await leases.hold('doc', async () => 'free')).toBe('free');
    expect(Date.now() - next).toBeLessThan(1_000);
    expect(await redis.exists(`test:${database}:lapse:lease:doc`)).toBe(0);
    // A holder killed mid-write: its lease is left in Redis until it lapses.
    await redis.set(`test:${database}:lapse:lease:stuck`, 'dead', 'PX', 300);
    const started = Date.now();
    expect(await leases.hold('stuck', async () => 'taken')).toBe('taken');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('refuse to write under a lease held too long', async () => {
    const leases = createRedisLeases(redis, { prefix: `test:${database}:old`, ttlMs: 300, holdMs: 50 });
    await expect(
      leases.hold('doc', async (lease) => {
        await new Promise((resolve) => setTimeout(resolve, 80));
        lease.assertHeld();
      }),
    ).rejects.toMatchObject({ status: 503 });
  });
});
