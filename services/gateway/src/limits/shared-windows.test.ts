import { createLogger } from '@kb/log';
import { type ServerHandle, startRedis } from '@kb/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SharedWindows, sharedWindows, type Window } from './shared-windows.js';

const log = createLogger({ service: 'gateway-test', version: '0', level: 'silent' });
const WINDOW = 60_000;

let server: ServerHandle;
const clients: Redis[] = [];
const running: SharedWindows[] = [];

beforeAll(async () => {
  server = await startRedis({ persist: false });
});

afterAll(async () => {
  await Promise.all(running.map((windows) => windows.stop()));
  for (const client of clients) client.disconnect();
  await server?.destroy();
});

/** A gateway replica's windows: its own Redis connection, as every replica has. */
async function replica(options: { flushMs?: number; retryMs?: number } = {}) {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  clients.push(redis);
  await new Promise((resolve) => redis.once('ready', resolve));
  const windows = sharedWindows({ redis, prefix: 'test:', log, timeoutMs: 300, ...options });
  running.push(windows);
  const incr = async (key: string, max: number) => windows.hit(key, WINDOW, max);
  const read = (key: string) => windows.peek(key);
  return { windows, incr, read };
}

const admitted = (answers: Window[], max: number) => answers.filter((a) => a.current <= max).length;
const unique = (name: string) => `${name}:${Math.random().toString(36).slice(2)}`;

async function redisCalls(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('shared rate-limit windows', () => {
  it('admit exactly the limit of concurrent requests, counting each one', async () => {
    const { incr } = await replica();
    const key = unique('burst');
    const answers = await Promise.all(Array.from({ length: 20 }, () => incr(key, 5)));
    expect(admitted(answers, 5)).toBe(5);
    const sequential = await replica();
    const other = unique('sequence');
    const currents: number[] = [];
    for (let i = 0; i < 12; i += 1) currents.push((await sequential.incr(other, 10)).current);
    expect(currents.slice(0, 11)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('send far-from-limit counts to Redis in batches, not one call per request', async () => {
    const { incr, windows } = await replica({ flushMs: 1_000 });
    const probe = new Redis(server.url);
    clients.push(probe);
    const key = unique('batched');
    const before = await redisCalls(probe);
    for (let i = 0; i < 1_000; i += 1) await incr(key, 1_000_000);
    await windows.flush();
    const calls = (await redisCalls(probe)) - before;
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(5);
    expect(Number(await probe.get(`test:${key}`))).toBe(1_000);
  });

  it('share counts between replicas, so together they admit the limit', async () => {
    const a = await replica();
    const b = await replica();
    const key = unique('shared');
    const max = 30;
    const fromA: Window[] = [];
    for (let i = 0; i < 20; i += 1) fromA.push(await a.incr(key, max));
    await a.windows.flush();
    const fromB: Window[] = [];
    for (let i = 0; i < 20; i += 1) fromB.push(await b.incr(key, max));
    await b.windows.flush();
    // B's first request asked Redis and learnt A's 20; both then count within the same window.
    expect(fromB[0]?.current).toBe(21);
    expect(admitted(fromA, max) + admitted(fromB, max)).toBe(max);
    // A's view of the window is older than two flush intervals by now: it asks Redis and learns B's share.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const next = await a.incr(key, max);
    expect(next.current).toBeGreaterThan(max);
  });

  it('answer reads from what the replica knows, without asking Redis', async () => {
    const { incr, read } = await replica();
    const probe = new Redis(server.url);
    clients.push(probe);
    const key = unique('read');
    expect(read(key).current).toBe(0);
    await incr(key, 100);
    await incr(key, 100);
    const before = await redisCalls(probe);
    expect(read(key).current).toBe(2);
    expect(await redisCalls(probe)).toBe(before);
  });

  it('count in memory while Redis is unreachable, then share through Redis again', async () => {
    const lone = await startRedis({ persist: false });
    const redis = new Redis(lone.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    clients.push(redis);
    await new Promise((resolve) => redis.once('ready', resolve));
    const windows = sharedWindows({ redis, prefix: 'test:', log, timeoutMs: 300, retryMs: 200 });
    running.push(windows);
    const incr = async (key: string) => windows.hit(key, WINDOW, 3);
    try {
      await lone.stop();
      const answers: Window[] = [];
      for (let i = 0; i < 5; i += 1) answers.push(await incr('outage'));
      expect(answers.map((a) => a.current)).toEqual([1, 2, 3, 4, 5]);
      await lone.start();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const back = await incr('outage');
      expect(back.current).toBe(1);
      const probe = new Redis(lone.url);
      clients.push(probe);
      expect(Number(await probe.get('test:outage'))).toBe(1);
    } finally {
      await lone.destroy();
    }
  });
});
