import { type Bits, clearBit, grownBits, hasBit, newBits, orInto, setBit, slotsOf } from './bitset.js';

/**
 * The slots holding one indexed payload value, kept up to date on every write. A value held by few points is a
 * Set; once a bitmap of the collection's capacity costs less than the Set (about 16 bytes a member) it becomes a
 * bitmap, and it turns back into a Set when it shrinks well below that (the gap avoids flapping).
 */
export interface Postings {
  size: number;
  small: Set<number> | undefined;
  bits: Bits | undefined;
}

const MIN_BITMAP_SIZE = 64;
const TO_BITMAP = 128; // a bitmap once size * TO_BITMAP >= capacity
const TO_SET = 512; // a Set again once size * TO_SET < capacity

export function newPostings(): Postings {
  return { size: 0, small: new Set(), bits: undefined };
}

export function postingsHas(p: Postings, slot: number): boolean {
  return p.bits ? hasBit(p.bits, slot) : (p.small as Set<number>).has(slot);
}

export function postingsAdd(p: Postings, slot: number, capacity: number): void {
  if (postingsHas(p, slot)) return;
  p.size++;
  if (p.bits) {
    p.bits = grownBits(p.bits, Math.max(capacity, slot + 1));
    setBit(p.bits, slot);
    return;
  }
  const small = p.small as Set<number>;
  small.add(slot);
  if (small.size >= MIN_BITMAP_SIZE && small.size * TO_BITMAP >= capacity) {
    const bits = newBits(capacity);
    for (const s of small) setBit(bits, s);
    p.bits = bits;
    p.small = undefined;
  }
}

export function postingsDelete(p: Postings, slot: number, capacity: number): void {
  if (!postingsHas(p, slot)) return;
  p.size--;
  if (!p.bits) {
    (p.small as Set<number>).delete(slot);
    return;
  }
  clearBit(p.bits, slot);
  if (p.size * TO_SET < capacity) {
    p.small = new Set(slotsOf(p.bits));
    p.bits = undefined;
  }
}

/** target |= the value's slots */
export function orPostingsInto(target: Bits, p: Postings): void {
  if (p.bits) {
    orInto(target, p.bits);
    return;
  }
  for (const slot of p.small as Set<number>) if (slot >>> 5 < target.length) setBit(target, slot);
}

/** The value's slots as a bitmap; a bitmap-backed value is returned as it is and must not be modified. */
export function postingsBits(p: Postings, capacity: number): Bits {
  if (p.bits) return p.bits;
  const bits = newBits(capacity);
  orPostingsInto(bits, p);
  return bits;
}

/** The value's slots, ascending (for tests and diagnostics). */
export function postingsSlots(p: Postings): number[] {
  return p.bits ? slotsOf(p.bits) : [...(p.small as Set<number>)].sort((a, b) => a - b);
}
