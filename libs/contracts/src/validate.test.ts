import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ListQuery, Timestamp } from './common.js';
import { parse } from './validate.js';

const Body = Type.Object(
  { name: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);

describe('parse', () => {
  it('returns valid values unchanged', () => {
    expect(parse(Body, { name: 'a', tags: ['x'] })).toEqual({ name: 'a', tags: ['x'] });
  });

  it('names the offending field', () => {
    expect(() => parse(Body, { name: '' })).toThrow(/^body\.name:/);
    expect(() => parse(Body, { name: 'a', tags: [1] })).toThrow(/^body\.tags\.0:/);
    expect(() => parse(Body, { name: 'a', extra: 1 }, 'request')).toThrow(/^request/);
  });

  it('refuses prototype keys at any depth', () => {
    const payload = JSON.parse('{"name":"a","tags":[],"x":{"__proto__":{"admin":true}}}');
    expect(() => parse(Type.Object({}, { additionalProperties: true }), payload)).toThrow(/__proto__/);
    expect(() =>
      parse(Type.Object({}, { additionalProperties: true }), { constructor: { prototype: {} } }),
    ).toThrow(/constructor/);
  });

  it('checks date-time formats and list bounds', () => {
    expect(parse(Timestamp, '2026-11-23T10:00:00.000Z')).toBe('2026-11-23T10:00:00.000Z');
    expect(() => parse(Timestamp, 'yesterday')).toThrow();
    expect(() => parse(ListQuery, { limit: 101 })).toThrow(/limit/);
  });
});
