import { type Collection, hasVector, sortedIds } from './collection.js';
import { type Check, compileFilter, type FilterAst, type FilterEnv, parseFilter } from './filter.js';
import { comparePointIds, type PointId } from './ids.js';
import { filterCandidates } from './payload-index.js';

export function filterEnv(c: Collection): FilterEnv {
  return {
    idOf: (slot) => c.ids[slot],
    hasVector: (slot, name) => hasVector(c, slot, name),
    textParams: (key) => c.indexes.get(key)?.text,
  };
}

/** A compiled filter with the slots an index says can match (undefined: any slot can). */
export interface Selection {
  check: Check | undefined;
  candidates: Set<number> | undefined;
}

const ALL: Selection = { check: undefined, candidates: undefined };

export function compileSelection(c: Collection, ast: FilterAst | undefined): Selection {
  if (!ast) return ALL;
  const check = compileFilter(ast, filterEnv(c));
  const lookup = filterCandidates(ast, c.indexes);
  if (!lookup) return { check, candidates: undefined };
  // When the index lookup is the whole filter, its slots are exactly the matches.
  return { check: lookup.exact ? undefined : check, candidates: lookup.slots };
}

export function parseSelection(c: Collection, rawFilter: unknown): Selection {
  return compileSelection(c, parseFilter(rawFilter));
}

export function passes(c: Collection, selection: Selection, slot: number): boolean {
  if (selection.candidates && !selection.candidates.has(slot)) return false;
  return !selection.check || selection.check(c.payloads[slot], slot);
}

/** Every live slot that passes the selection, in no particular order. */
export function matchingSlots(c: Collection, selection: Selection): number[] {
  const out: number[] = [];
  const source = selection.candidates ?? c.idToSlot.values();
  for (const slot of source) {
    if (c.ids[slot] !== undefined && passes(c, selection, slot)) out.push(slot);
  }
  return out;
}

export function matchingIds(c: Collection, selection: Selection): PointId[] {
  return matchingSlots(c, selection).map((slot) => c.ids[slot] as PointId);
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
  if (selection.candidates && selection.candidates.size * 4 < total) {
    const ids = [...selection.candidates]
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
