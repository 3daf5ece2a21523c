import { Writable } from 'node:stream';
import { createLogger } from '@kb/log';
import { describe, expect, it } from 'vitest';
import { createShutdown } from './shutdown.js';

const silent = createLogger({
  service: 't',
  version: '0',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

describe('createShutdown', () => {
  it('runs phases in order: intake, drain, close, flush', async () => {
    const order: string[] = [];
    const shutdown = createShutdown(silent);
    shutdown.register('flush', 'telemetry', () => order.push('flush'));
    shutdown.register('close', 'mongo', async () => order.push('close'));
    shutdown.register('intake', 'http', () => order.push('intake'));
    shutdown.register('drain', 'nats', () => order.push('drain'));
    expect(await shutdown.run('test')).toBe(true);
    expect(order).toEqual(['intake', 'drain', 'close', 'flush']);
  });

  it('runs once, reports failures and keeps going', async () => {
    let calls = 0;
    const shutdown = createShutdown(silent);
    shutdown.register('intake', 'broken', () => {
      throw new Error('boom');
    });
    shutdown.register('close', 'counted', () => {
      calls += 1;
    });
    const [a, b] = await Promise.all([shutdown.run('one'), shutdown.run('two')]);
    expect(a).toBe(false);
    expect(b).toBe(false);
    expect(calls).toBe(1);
    expect(shutdown.stopping).toBe(true);
  });

  it('bounds a hanging step by the deadline', async () => {
    const shutdown = createShutdown(silent, 200);
    let flushed = false;
    shutdown.register('intake', 'hangs', () => new Promise(() => undefined));
    shutdown.register('flush', 'after', () => {
      flushed = true;
    });
    const started = Date.now();
    expect(await shutdown.run('test')).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(flushed).toBe(true);
  });
});
