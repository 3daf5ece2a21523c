import { uniqueName } from '@kb/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFairQueue, type FairQueue, type IngestTask, jobIdOf } from './fair.js';

let redis: Redis;
let fair: FairQueue;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  fair = createFairQueue(redis, uniqueName('fair'));
});

afterAll(async () => {
  await redis?.quit();
});

let sequence = 0;
const task = (org: string, ws: string): IngestTask => ({
  org,
  ws,
  documentId: `doc_${org}_${ws}_${sequence++}`,
  version: 1,
  enqueuedAt: Date.now(),
});

/** Takes everything, `batch` at a time, and confirms it; the order of service. */
async function drain(queue: FairQueue, batch = 8): Promise<IngestTask[]> {
  const served: IngestTask[] = [];
  for (;;) {
    const taken = await queue.take(batch);
    if (taken.length === 0) return served;
    await queue.confirm(taken);
    served.push(...taken);
  }
}

describe('the fair queue (real Redis)', () => {
  it("serves another organization's single document right after one task of the backlog", async () => {
    for (let i = 0; i < 1_000; i++) await fair.enqueue(task('org_big', 'ws_big'));
    const first = await fair.take(1);
    expect(first[0]?.org).toBe('org_big');
    await fair.confirm(first);
    const single = task('org_small', 'ws_small');
    expect(await fair.enqueue(single)).toBe(true);
    // The small organization is next in the ring: within the next two turns whatever the backlog.
    const next = await fair.take(2);
    expect(next.map(jobIdOf)).toContain(jobIdOf(single));
    await fair.confirm(next);
    const rest = await drain(fair);
    expect(rest).toHaveLength(998);
    expect(await fair.waiting()).toBe(0);
  });

  it('alternates organizations, then workspaces within an organization, and keeps each list in order', async () => {
    const a1 = Array.from({ length: 6 }, () => task('org_a', 'ws_a1'));
    const a2 = Array.from({ length: 2 }, () => task('org_a', 'ws_a2'));
    const b = Array.from({ length: 4 }, () => task('org_b', 'ws_b'));
    for (const t of [...a1, ...a2, ...b]) await fair.enqueue(t);
    const served = await drain(fair, 3);
    expect(served.map((t) => t.org).slice(0, 8)).toEqual([
      'org_a',
      'org_b',
      'org_a',
      'org_b',
      'org_a',
      'org_b',
      'org_a',
      'org_b',
    ]);
    // Organization A's turns go to its workspaces in turn: a1, a2, a1, a2, then a1's remaining backlog.
    expect(
      served
        .filter((t) => t.org === 'org_a')
        .map((t) => t.ws)
        .slice(0, 4),
    ).toEqual(['ws_a1', 'ws_a2', 'ws_a1', 'ws_a2']);
    for (const list of [a1, a2, b]) {
      const order = served.filter((t) => t.ws === list[0]?.ws).map(jobIdOf);
      expect(order).toEqual(list.map(jobIdOf));
    }
  });

  it('adds a document version once, and gives back tasks whose dispatcher died before confirming', async () => {
    const once = task('org_c', 'ws_c');
    expect(await fair.enqueue(once)).toBe(true);
    expect(await fair.enqueue({ ...once, enqueuedAt: Date.now() + 1 })).toBe(false);
    expect(await fair.waiting()).toBe(1);
    const [taken] = await fair.take(5);
    expect(taken && jobIdOf(taken)).toBe(jobIdOf(once));
    expect(await fair.holds(once)).toBe(true);
    // Not confirmed: after the grace period it is reported stale, to be dispatched again.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await fair.stale(10)).map(jobIdOf)).toEqual([jobIdOf(once)]);
    await fair.confirm([once]);
    expect(await fair.stale(0)).toEqual([]);
    expect(await fair.holds(once)).toBe(false);
  });
});
