import type { Connection } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { inWriteTurn } from './write-turns.js';

describe('write turns (FerretDB)', () => {
  it('run one write at a time, round the tenants with writes waiting, each tenant in order', async () => {
    const connection = {} as Connection;
    const order: string[] = [];
    let running = 0;
    const write = (tenant: string, name: string) =>
      inWriteTurn(connection, tenant, async () => {
        running++;
        expect(running).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 2));
        order.push(name);
        running--;
        return name;
      });
    const busy = Array.from({ length: 6 }, (_, i) => write('org_a/ws_a', `a${i}`));
    const other = [write('org_b/ws_b', 'b0'), write('org_b/ws_b', 'b1'), write('org_c/ws_c', 'c0')];
    expect(await Promise.all([...busy, ...other])).toEqual([
      'a0',
      'a1',
      'a2',
      'a3',
      'a4',
      'a5',
      'b0',
      'b1',
      'c0',
    ]);
    // Queued behind five of A's writes, B's and C's first writes still came right after A's first.
    expect(order).toEqual(['a0', 'a1', 'b0', 'c0', 'a2', 'b1', 'a3', 'a4', 'a5']);
  });

  it('keep going after a write fails', async () => {
    const connection = {} as Connection;
    const failing = inWriteTurn(connection, 't', () => Promise.reject(new Error('refused')));
    const after = inWriteTurn(connection, 't', async () => 'written');
    await expect(failing).rejects.toThrow('refused');
    expect(await after).toBe('written');
  });
});
