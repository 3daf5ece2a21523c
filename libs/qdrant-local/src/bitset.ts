/**
 * Slot bitmaps: bit `slot & 31` of word `slot >>> 5`. Words past a bitmap's end read as zero, so bitmaps of
 * different lengths combine without resizing.
 */
export type Bits = Uint32Array;

export function wordsFor(capacity: number): number {
  return (capacity + 31) >>> 5;
}

export function newBits(capacity: number): Bits {
  return new Uint32Array(wordsFor(capacity));
}

/** A copy at least `capacity` slots long (same contents). */
export function grownBits(bits: Bits, capacity: number): Bits {
  if (bits.length >= wordsFor(capacity)) return bits;
  const out = new Uint32Array(Math.max(wordsFor(capacity), bits.length * 2));
  out.set(bits);
  return out;
}

export function hasBit(bits: Bits, slot: number): boolean {
  return (((bits[slot >>> 5] ?? 0) >>> (slot & 31)) & 1) === 1;
}

/** Sets a bit; the bitmap must already cover the slot. */
export function setBit(bits: Bits, slot: number): void {
  bits[slot >>> 5] = (bits[slot >>> 5] as number) | (1 << (slot & 31));
}

export function clearBit(bits: Bits, slot: number): void {
  const word = slot >>> 5;
  if (word < bits.length) bits[word] = (bits[word] as number) & ~(1 << (slot & 31));
}

/** target &= other */
export function andInto(target: Bits, other: Bits): void {
  const n = Math.min(target.length, other.length);
  for (let w = 0; w < n; w++) target[w] = (target[w] as number) & (other[w] as number);
  target.fill(0, n);
}

/** target &= ~other */
export function andNotInto(target: Bits, other: Bits): void {
  const n = Math.min(target.length, other.length);
  for (let w = 0; w < n; w++) target[w] = (target[w] as number) & ~(other[w] as number);
}

/** target |= other (bits of `other` past the end of `target` are dropped) */
export function orInto(target: Bits, other: Bits): void {
  const n = Math.min(target.length, other.length);
  for (let w = 0; w < n; w++) target[w] = (target[w] as number) | (other[w] as number);
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

export function countBits(bits: Bits): number {
  let count = 0;
  for (let w = 0; w < bits.length; w++) {
    const word = bits[w] as number;
    if (word !== 0) count += popcount(word);
  }
  return count;
}

/** The set slots in ascending order. */
export function slotsOf(bits: Bits): number[] {
  const out: number[] = [];
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w] as number;
    while (word !== 0) {
      const low = word & -word;
      out.push((w << 5) + 31 - Math.clz32(low));
      word ^= low;
    }
  }
  return out;
}
