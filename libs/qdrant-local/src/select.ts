import { type Bits, countBits, hasBit, slotsOf } from './bitset.js';
import { type Collection, hasVector, sortedIds } from './collection.js';
import { type Check, compileFilter, type FilterAst, type FilterEnv, parseFilter } from './filter.js';
import { planFilter } from './filter-plan.js';
import { comparePointIds, type PointId } from './ids.js';

export function filterEnv(c: Collection): FilterEnv {
  return {
    idOf: (slot) => c.ids[slot],
    hasVector: (slot, name) => hasVector(c, slot, name),
    textParams: (key) => c.indexes.get(key)?.text,
  };
}

/**
 * A compiled filter: `bits` holds the live slots that can pass (from the payload indexes), and `check`, when
 * present, must also hold for a slot. Neither is modified once built.
 */
export interface Selection {
  bits: Bits;
  check: Check | undefined;
}

export function compileSelection(c: Collection, ast: FilterAst | undefined): Selection {
  if (!ast) return { bits: c.live, check: undefined };
  // Compiling the whole filter validates it, so an invalid filter fails the same way whatever the indexes decide.
  const env = filterEnv(c);
  compileFilter(ast, env);
  const plan = planFilter(c, ast);
  return { bits: plan.bits, check: plan.residual ? compileFilter(plan.residual, env) : undefined };
}

export function parseSelection(c: Collection, rawFilter: unknown): Selection {
  return compileSelection(c, parseFilter(rawFilter));
}

export function passes(c: Collection, selection: Selection, slot: number): boolean {
  if (!hasBit(selection.bits, slot)) return false;
  return !selection.check || selection.check(c.payloads[slot], slot);
}

/** Every live slot that passes the selection, ascending. */
export function matchingSlots(c: Collection, selection: Selection): number[] {
  const slots = slotsOf(selection.bits);
  const check = selection.check;
  return check ? slots.filter((slot) => check(c.payloads[slot], slot)) : slots;
}

/** How many live slots pass: a bit count when the indexes decided the whole filter. */
export function countMatching(c: Collection, selection: Selection): number {
  return selection.check ? matchingSlots(c, selection).length : countBits(selection.bits);
}

export function matchingIds(c: Collection, selection: Selection): PointId[] {
  return matchingSlots(c, selection).map((slot) => c.ids[slot] as PointId);
}

/** A filter's identity for the selection cache: repeated clauses are dropped, as AND / OR of a repeat is a no-op. */
function filterKey(ast: FilterAst): string {
  const unique = (list: unknown[] | undefined) => list && [...new Set(list.map((x) => JSON.stringify(x)))];
  return JSON.stringify([unique(ast.must), unique(ast.should), unique(ast.mustNot), ast.minShould]);
}

const MAX_CACHED_SELECTIONS = 64;

/**
 * The exact slots passing a filter, as a bitmap the caller must not modify. Cached per collection until the
 * next write, so the prefetches of a query (which carry the query's filter) and repeated queries of a tenant
 * select once.
 */
export function querySelection(c: Collection, ast: FilterAst | undefined): Bits {
  if (!ast) return c.live;
  const key = filterKey(ast);
  const cached = c.selections.get(key);
  if (cached) return cached;
  const selection = compileSelection(c, ast);
  let bits = selection.bits;
  const check = selection.check;
  if (check) {
    bits = bits.slice();
    for (const slot of slotsOf(selection.bits)) {
      if (!check(c.payloads[slot], slot))
        bits[slot >>> 5] = (bits[slot >>> 5] as number) & ~(1 << (slot & 31));
    }
  }
  if (c.selections.size >= MAX_CACHED_SELECTIONS)
    c.selections.delete(c.selections.keys().next().value as string);
  c.selections.set(key, bits);
  return bits;
}

/**
 * Up to `limit` matching slots in id order starting at `offset` (inclusive), plus the id that would start the next
 * page: Qdrant's scroll.
 */
export function scrollSlots(c: Collection, selection: Selection, offset: PointId | undefined, limit: number) {
  const slots: number[] = [];
  let next: PointId | undefined;
  const consider = (id: PointId): boolean => {
    const slot = c.idToSlot.get(id);
    if (slot === undefined || !passes(c, selection, slot)) return true;
    if (slots.length === limit) {
      next = id;
      return false;
    }
    slots.push(slot);
    return true;
  };
  const total = c.idToSlot.size;
  if (selection.bits !== c.live && countBits(selection.bits) * 4 < total) {
    const ids = slotsOf(selection.bits)
      .map((slot) => c.ids[slot])
      .filter((id): id is PointId => id !== undefined)
      .sort(comparePointIds);
    for (const id of ids) {
      if (offset !== undefined && comparePointIds(id, offset) < 0) continue;
      if (!consider(id)) break;
    }
  } else {
    const ids = sortedIds(c);
    let start = 0;
    if (offset !== undefined) {
      let lo = 0;
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (comparePointIds(ids[mid] as PointId, offset) < 0) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    for (let i = start; i < ids.length; i++) if (!consider(ids[i] as PointId)) break;
  }
  return { slots, next };
}
