import { describe, expect, it } from 'vitest';
import { random } from '../test/random-collection.js';
import {
  andInto,
  andNotInto,
  countBits,
  grownBits,
  hasBit,
  newBits,
  orInto,
  setBit,
  slotsOf,
} from './bitset.js';
import {
  newPostings,
  postingsAdd,
  postingsBits,
  postingsDelete,
  postingsHas,
  postingsSlots,
} from './postings.js';

describe('bitmaps', () => {
  it('combine bitmaps of different lengths as if the shorter were padded with zeros', () => {
    const a = newBits(100);
    const b = newBits(40);
    for (const slot of [0, 31, 32, 39, 64, 99]) setBit(a, slot);
    for (const slot of [0, 32, 33]) setBit(b, slot);
    const and = a.slice();
    andInto(and, b);
    expect(slotsOf(and)).toEqual([0, 32]);
    const andNot = a.slice();
    andNotInto(andNot, b);
    expect(slotsOf(andNot)).toEqual([31, 39, 64, 99]);
    const or = a.slice();
    orInto(or, b);
    expect(slotsOf(or)).toEqual([0, 31, 32, 33, 39, 64, 99]);
    expect(countBits(or)).toBe(7);
    expect(hasBit(b, 99)).toBe(false);
    expect(slotsOf(grownBits(b, 1000))).toEqual([0, 32, 33]);
  });
});

describe('postings', () => {
  it('match a plain set through growth, bitmap promotion and demotion', () => {
    const rnd = random(5);
    const p = newPostings();
    const model = new Set<number>();
    const kinds: string[] = [];
    const apply = (add: boolean, slot: number, capacity: number) => {
      if (add) postingsAdd(p, slot, capacity);
      else postingsDelete(p, slot, capacity);
      if (add) model.add(slot);
      else model.delete(slot);
      expect(p.size).toBe(model.size);
      expect(postingsHas(p, slot)).toBe(model.has(slot));
      const kind = p.bits ? 'bitmap' : 'set';
      if (kinds.at(-1) !== kind) kinds.push(kind);
    };
    // Grow a value past the bitmap threshold while the collection grows, then empty it and fill it again.
    for (const capacity of [256, 1024, 4096]) {
      for (let i = 0; i < capacity / 4; i++) apply(rnd() < 0.8, Math.floor(rnd() * capacity), capacity);
    }
    for (const slot of [...model]) apply(false, slot, 4096);
    for (let i = 0; i < 600; i++) apply(true, Math.floor(rnd() * 4096), 4096);
    expect(kinds).toEqual(['set', 'bitmap', 'set', 'bitmap']);
    expect(postingsSlots(p)).toEqual([...model].sort((a, b) => a - b));
    expect(slotsOf(postingsBits(p, 4096))).toEqual([...model].sort((a, b) => a - b));
  });
});
