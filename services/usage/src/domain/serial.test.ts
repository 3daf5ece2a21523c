import { describe, expect, it } from 'vitest';
import { createCoalescer, createSerializer } from './serial.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createSerializer', () => {
  it('runs the tasks of one key one at a time, in call order, and other keys alongside', async () => {
    const serially = createSerializer();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([serially('a', task('a1')), serially('a', task('a2')), serially('b', task('b1'))]);
    expect(log.indexOf('a1 end')).toBeLessThan(log.indexOf('a2 start'));
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
  });
});

describe('createCoalescer', () => {
  it('runs once for callers arriving while a run waits, and again for callers after it started', async () => {
    const coalesced = createCoalescer();
    let runs = 0;
    let release: () => void = () => {};
    const task = async () => {
      runs += 1;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const first = coalesced('q', task);
    await tick();
    // The first run is under way: these three wait for one more run, together.
    const waiting = [coalesced('q', task), coalesced('q', task), coalesced('q', task)];
    expect(waiting[1]).toBe(waiting[0]);
    release();
    await first;
    await tick();
    expect(runs).toBe(2);
    release();
    await Promise.all(waiting);
    expect(runs).toBe(2);
    // Another key has runs of its own.
    const other = coalesced('r', task);
    await tick();
    release();
    await other;
    expect(runs).toBe(3);
  });

  it('runs a later caller again after a failed run', async () => {
    const coalesced = createCoalescer();
    await expect(coalesced('q', () => Promise.reject(new Error('redis away')))).rejects.toThrow('redis away');
    let ran = false;
    await coalesced('q', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});
