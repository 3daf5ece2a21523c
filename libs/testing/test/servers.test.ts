import { existsSync, readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import mongoose from 'mongoose';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServerHandle, startFerret, startNats, startRedis, uniqueName } from '../src/index.js';
import { redisCommand } from './resp.js';

const started: ServerHandle[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.destroy()));
});
async function track(handle: Promise<ServerHandle>): Promise<ServerHandle> {
  const h = await handle;
  started.push(h);
  return h;
}

describe('nats', () => {
  it('keeps a JetStream stream and its messages across a restart on the same port', async () => {
    const nats = await track(startNats());
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const stream = uniqueName('S');
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    await jsm.jetstream().publish(`${stream}.a`, 'one');
    await nc.close();

    await nats.stop();
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow();
    await nats.start();

    const nc2 = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc2)).streams.info(stream);
    expect(info.state.messages).toBe(1);
    await nc2.close();
  });
});

describe('redis', () => {
  it('keeps a key across a stop and start (AOF)', async () => {
    const redis = await track(startRedis());
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    await redisCommand(redis.url, 'SET', 'k', 'v1');
    await redis.stop();
    await redis.start();
    expect(await redisCommand(redis.url, 'GET', 'k')).toBe('v1');
    expect(await redisCommand(redis.url, 'INFO', 'memory')).toContain('maxmemory_policy:noeviction');
  });

  it('forgets data without persistence, and restarts after a crash', async () => {
    const redis = await track(startRedis({ persist: false }));
    await redisCommand(redis.url, 'SET', 'k', 'v1');
    redis.kill();
    await redis.start();
    expect(await redisCommand(redis.url, 'GET', 'k')).toBeNull();
  });
});

describe('ferretdb', () => {
  it('answers the MongoDB wire protocol and keeps documents across a restart', async () => {
    const ferret = await track(startFerret());
    expect(ferret.url).toBe(`mongodb://127.0.0.1:${ferret.port}/`);
    const url = `${ferret.url}kb_test_${uniqueName('restart')}`;
    const client = new mongoose.mongo.MongoClient(url);
    await client.db().collection('docs').insertOne({ n: 1 });
    await client.close();

    await ferret.stop();
    await ferret.start();

    const again = new mongoose.mongo.MongoClient(url);
    expect(await again.db().collection('docs').countDocuments({ n: 1 })).toBe(1);
    await again.db().dropDatabase();
    await again.close();
  });

  it('keeps every acknowledged write when it is killed (SQLite flushes its log at checkpoints, not commits)', async () => {
    const ferret = await track(startFerret());
    expect(readFileSync(`/proc/${ferret.pid}/cmdline`, 'utf8')).toContain('_pragma=synchronous(normal)');
    const url = `${ferret.url}kb_test_${uniqueName('crash')}`;
    const client = new mongoose.mongo.MongoClient(url);
    const docs = client.db().collection<{ _id: string; n: number }>('docs');
    await docs.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: `d${i}`, n: i })));
    for (let i = 0; i < 200; i += 10) await docs.updateOne({ _id: `d${i}` }, { $set: { n: i + 1_000 } });
    await docs.deleteOne({ _id: 'd1' });
    await client.close();

    const crashed = ferret.pid;
    ferret.kill('SIGKILL');
    await ferret.start();
    expect(ferret.pid).not.toBe(crashed);

    const again = new mongoose.mongo.MongoClient(url);
    const stored = await again.db().collection<{ _id: string; n: number }>('docs').find().toArray();
    expect(stored).toHaveLength(199);
    const byId = new Map(stored.map((doc) => [doc._id, doc.n]));
    for (let i = 0; i < 200; i++) {
      if (i === 1) expect(byId.has('d1')).toBe(false);
      else expect(byId.get(`d${i}`)).toBe(i % 10 === 0 ? i + 1_000 : i);
    }
    await again.db().dropDatabase();
    await again.close();
  });
});

describe('server handles', () => {
  it('remove the folder they created on destroy, and refuse to start again', async () => {
    const nats = await startNats();
    expect(existsSync(nats.dir)).toBe(true);
    expect(nats.dir).toMatch(/kb-test-nats-/);
    await nats.destroy();
    expect(existsSync(nats.dir)).toBe(false);
    await expect(nats.start()).rejects.toThrow(/destroyed/);
  });

  it('fail clearly when the port is taken', async () => {
    const first = await track(startRedis());
    await expect(startRedis({ port: first.port })).rejects.toThrow(`port ${first.port} is already in use`);
  });
});
