import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { SyncContextManager } from './sync-context.js';

const key = createContextKey('probe');

describe('SyncContextManager', () => {
  it('keeps a context active for the synchronous extent of `with`, nested, and restores the outer one', () => {
    const manager = new SyncContextManager();
    const outer = ROOT_CONTEXT.setValue(key, 'outer');
    const inner = ROOT_CONTEXT.setValue(key, 'inner');
    const seen: unknown[] = [];
    const answer = manager.with(
      outer,
      (a: number, b: number) => {
        seen.push(manager.active().getValue(key));
        manager.with(inner, () => seen.push(manager.active().getValue(key)));
        seen.push(manager.active().getValue(key));
        return a + b;
      },
      undefined,
      2,
      3,
    );
    expect(answer).toBe(5);
    expect(seen).toEqual(['outer', 'inner', 'outer']);
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('restores the outer context when `fn` throws', () => {
    const manager = new SyncContextManager();
    expect(() =>
      manager.with(ROOT_CONTEXT.setValue(key, 'x'), () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(manager.active().getValue(key)).toBeUndefined();
  });

  it('does not follow an await: the continuation runs in the root context', async () => {
    const manager = new SyncContextManager();
    const after = await manager.with(ROOT_CONTEXT.setValue(key, 'request'), async () => {
      expect(manager.active().getValue(key)).toBe('request');
      await new Promise((resolve) => setTimeout(resolve, 1));
      return manager.active().getValue(key);
    });
    expect(after).toBeUndefined();
  });

  it('binds a function to a context for each of its calls', () => {
    const manager = new SyncContextManager();
    const bound = manager.bind(ROOT_CONTEXT.setValue(key, 'bound'), () => manager.active().getValue(key));
    expect(bound()).toBe('bound');
    expect(manager.active().getValue(key)).toBeUndefined();
    const value = { a: 1 };
    expect(manager.bind(ROOT_CONTEXT, value)).toBe(value);
  });
});
