import { Writable } from 'node:stream';
import { createLogger } from '@kb/log';
import { describe, expect, it } from 'vitest';
import { createLastUsedRecorder } from './last-used.js';

const log = createLogger({
  service: 'test',
  version: '0',
  destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
});

describe('createLastUsedRecorder', () => {
  it('writes every key used since the last flush in one call, each id once', async () => {
    const writes: string[][] = [];
    const recorder = createLastUsedRecorder(async (ids) => void writes.push(ids), {
      log,
      intervalMs: 60_000,
    });
    for (let i = 0; i < 100; i += 1) recorder.touch(i % 2 ? 'key_a' : 'key_b');
    await recorder.flush();
    await recorder.flush();
    expect(writes).toEqual([['key_b', 'key_a']]);
    await recorder.stop();
  });

  it('flushes on its timer and at stop', async () => {
    const writes: string[][] = [];
    const recorder = createLastUsedRecorder(async (ids) => void writes.push(ids), { log, intervalMs: 20 });
    recorder.touch('key_a');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(writes).toEqual([['key_a']]);
    recorder.touch('key_b');
    await recorder.stop();
    expect(writes).toEqual([['key_a'], ['key_b']]);
  });

  it('keeps the ids of a failed write for the next one', async () => {
    let fail = true;
    const writes: string[][] = [];
    const recorder = createLastUsedRecorder(
      async (ids) => {
        if (fail) throw new Error('store down');
        writes.push(ids);
      },
      { log, intervalMs: 60_000 },
    );
    recorder.touch('key_a');
    await recorder.flush();
    fail = false;
    recorder.touch('key_b');
    await recorder.stop();
    expect(writes.map((ids) => [...ids].sort())).toEqual([['key_a', 'key_b']]);
  });
});
