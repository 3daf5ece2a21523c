import { andInto, andNotInto, type Bits, newBits, orInto, setBit } from './bitset.js';
import type { Collection } from './collection.js';
import { isRecord } from './errors.js';
import { type FilterAst, parseFilter } from './filter.js';
import { parsePointIds } from './ids.js';
import { accepts } from './payload-index.js';
import { orPostingsInto, postingsBits } from './postings.js';

/**
 * How much of a filter the payload indexes decide. `bits` (a fresh bitmap the caller owns) holds the live slots
 * that can pass; when `residual` is undefined they are exactly the slots that pass, otherwise each of them must
 * still pass `residual`, the conditions no index decides. Must, should and must_not are all conjunctive parts of
 * a filter, so deciding some conditions by index and the rest per point gives the same answer as checking all.
 * The filter has been compiled (validated) before it is planned.
 */
export interface FilterPlan {
  bits: Bits;
  residual: FilterAst | undefined;
}

/** A condition's exact matches: `'all'` when every live point matches, undefined when no index decides it. */
type Decided = Bits | 'all' | undefined;

const FILTER_KEYS = new Set(['must', 'should', 'must_not', 'min_should']);

/** An equality match on a keyword, integer or bool index: the union of the indexed values' postings. */
function indexedMatch(c: Collection, raw: Record<string, unknown>): Decided {
  if (typeof raw.key !== 'string' || !isRecord(raw.match)) return undefined;
  if (Object.keys(raw).some((k) => k !== 'key' && k !== 'match' && raw[k] != null)) return undefined;
  const index = c.indexes.get(raw.key);
  const values = index?.values;
  const match = raw.match;
  if (!index || !values || Object.keys(match).length !== 1) return undefined;
  const wanted = 'value' in match ? [match.value] : Array.isArray(match.any) ? match.any : undefined;
  // Only values of the index's own type are held by it; a lookup of any other would miss matches.
  if (!wanted?.every((value) => accepts(index.schema.type, value))) return undefined;
  if (wanted.length === 1) {
    const postings = values.get(wanted[0]);
    if (!postings) return newBits(c.capacity);
    return postings.size === c.idToSlot.size ? 'all' : postingsBits(postings, c.capacity);
  }
  const bits = newBits(c.capacity);
  for (const value of wanted) {
    const postings = values.get(value);
    if (postings) orPostingsInto(bits, postings);
  }
  return bits;
}

function hasIdBits(c: Collection, raw: unknown): Bits {
  const bits = newBits(c.capacity);
  for (const id of parsePointIds(raw, 'has_id')) {
    const slot = c.idToSlot.get(id);
    if (slot !== undefined) setBit(bits, slot);
  }
  return bits;
}

/** Mirrors compileCondition's dispatch, so a condition is read the same way it is checked. */
function decide(c: Collection, raw: unknown): Decided {
  if (!isRecord(raw)) return undefined;
  if ('key' in raw) return indexedMatch(c, raw);
  if ('is_empty' in raw || 'is_null' in raw) return undefined;
  if ('has_id' in raw) return hasIdBits(c, raw.has_id);
  if ('has_vector' in raw || 'nested' in raw) return undefined;
  if (!Object.keys(raw).every((k) => FILTER_KEYS.has(k))) return undefined;
  const plan = planFilter(c, parseFilter(raw) ?? {});
  return plan.residual ? undefined : plan.bits;
}

/** The OR of a `should` list, or undefined when some condition is not decided by an index. */
function decideAny(c: Collection, conditions: unknown[]): Decided {
  const bits = newBits(c.capacity);
  for (const condition of conditions) {
    const decided = decide(c, condition);
    if (decided === undefined) return undefined;
    if (decided === 'all') return 'all';
    orInto(bits, decided);
  }
  return bits;
}

export function planFilter(c: Collection, ast: FilterAst): FilterPlan {
  const bits = c.live.slice();
  const must: unknown[] = [];
  const mustNot: unknown[] = [];
  const residual: FilterAst = {};
  for (const condition of ast.must ?? []) {
    const decided = decide(c, condition);
    if (decided === undefined) must.push(condition);
    else if (decided !== 'all') andInto(bits, decided);
  }
  if (ast.should) {
    const decided = decideAny(c, ast.should);
    if (decided === undefined) residual.should = ast.should;
    else if (decided !== 'all') andInto(bits, decided);
  }
  for (const condition of ast.mustNot ?? []) {
    const decided = decide(c, condition);
    if (decided === undefined) mustNot.push(condition);
    else if (decided === 'all') bits.fill(0);
    else andNotInto(bits, decided);
  }
  if (must.length > 0) residual.must = must;
  if (mustNot.length > 0) residual.mustNot = mustNot;
  if (ast.minShould) residual.minShould = ast.minShould;
  const open = residual.must || residual.should || residual.mustNot || residual.minShould;
  return { bits, residual: open ? residual : undefined };
}
