import type { Collection } from '../src/collection.js';
import { badRequest, notFound } from '../src/errors.js';
import { compileFilter, type FilterAst, mergeFilters } from '../src/filter.js';
import { comparePointIds, type PointId } from '../src/ids.js';
import type { QueryNode, QueryRequest, VectorInput } from '../src/query-parse.js';
import { dbsf, rrf, type Scored, sortScored } from '../src/ranking.js';
import { filterEnv } from '../src/select.js';
import { idf, sparseScore } from '../src/sparse.js';
import {
  denseScore,
  parseDenseVector,
  prepareDense,
  type SparseVector,
  smallBetter,
} from '../src/vectors.js';

/**
 * The Query API evaluated the plain way, as a yardstick for the engine's optimised path: every live point is
 * checked against the compiled filter, scored one by one (JavaScript dense scoring, merge-join sparse dot
 * products, IDF counted afresh from the stored vectors), sorted in full and cut. No payload index, bitmap,
 * cache, inverted index or WebAssembly is involved.
 */
type Scorer = { small: boolean; score(slot: number): number | undefined };

/** Live slots passing the filter, each checked on its own. */
export function matching(c: Collection, filter: FilterAst | undefined): number[] {
  const check = filter ? compileFilter(filter, filterEnv(c)) : undefined;
  return [...c.idToSlot.values()].filter((slot) => !check || check(c.payloads[slot], slot));
}

function idfQuery(c: Collection, using: string, query: SparseVector): SparseVector {
  const stored = (c.sparse.get(using)?.vectors ?? []).filter((v): v is SparseVector => v !== undefined);
  const values = Float32Array.from(query.indices, (dim, i) => {
    const df = stored.filter((v) => v.indices.includes(dim)).length;
    return (query.values[i] as number) * idf(stored.length, df);
  });
  return { indices: query.indices, values };
}

function resolve(c: Collection, input: VectorInput, using: string): VectorInput {
  if (input.kind !== 'id') return input;
  const slot = c.idToSlot.get(input.id);
  if (slot === undefined) throw notFound(`No point with id ${input.id} found`);
  const dense = c.dense.get(using);
  if (dense?.has[slot] === 1) {
    const offset = slot * dense.params.size;
    return { kind: 'dense', values: Array.from(dense.data.subarray(offset, offset + dense.params.size)) };
  }
  const vector = c.sparse.get(using)?.vectors[slot];
  if (vector) return { kind: 'sparse', vector };
  throw notFound(`Vector with name ${JSON.stringify(using)} for point ${input.id}`);
}

function scorer(c: Collection, input: VectorInput, using: string): Scorer {
  const resolved = resolve(c, input, using);
  const dense = c.dense.get(using);
  const sparse = c.sparse.get(using);
  if (!dense && !sparse) throw badRequest(`Not existing vector name error: ${using}`);
  if (resolved.kind === 'dense') {
    if (!dense) throw badRequest(`Conversion between sparse and regular vectors failed for ${using}`);
    const { distance, size } = dense.params;
    const query = prepareDense(parseDenseVector(resolved.values, size, using), distance);
    return {
      small: smallBetter(distance),
      score: (slot) =>
        dense.has[slot] === 1 ? denseScore(distance, query, dense.data, slot * size) : undefined,
    };
  }
  if (resolved.kind !== 'sparse' || !sparse)
    throw badRequest(`Conversion between sparse and regular vectors failed for ${using}`);
  const query = sparse.params.modifier === 'idf' ? idfQuery(c, using, resolved.vector) : resolved.vector;
  return {
    small: false,
    score: (slot) => {
      const stored = sparse.vectors[slot];
      return stored ? sparseScore(query, stored) : undefined;
    },
  };
}

const within = (score: number, threshold: number | undefined, small: boolean) =>
  threshold === undefined || (small ? score <= threshold : score >= threshold);

function rank(slots: Iterable<number>, s: Scorer, threshold: number | undefined, limit: number): Scored[] {
  const scored: Scored[] = [];
  for (const slot of slots) {
    const score = s.score(slot);
    if (score !== undefined && within(score, threshold, s.small)) scored.push({ slot, score });
  }
  return sortScored(scored, s.small).slice(0, limit);
}

function leaf(c: Collection, node: QueryNode, filter: FilterAst | undefined, limit: number): Scored[] {
  const slots = matching(c, filter);
  if (!node.query) {
    const ids = slots.map((slot) => c.ids[slot] as PointId).sort(comparePointIds);
    return ids.slice(0, limit).map((id) => ({ slot: c.idToSlot.get(id) as number, score: 0 }));
  }
  if (node.query.kind !== 'nearest') throw badRequest('cannot apply Fusion without prefetches');
  return rank(slots, scorer(c, node.query.input, node.using), node.scoreThreshold, limit);
}

function small(c: Collection, node: QueryNode): boolean {
  const store = node.query?.kind === 'nearest' ? c.dense.get(node.using) : undefined;
  return store ? smallBetter(store.params.distance) : false;
}

function run(c: Collection, node: QueryNode, inherited: FilterAst | undefined, limit: number): Scored[] {
  const filter = mergeFilters(inherited, node.filter);
  if (node.prefetch.length === 0) return leaf(c, node, filter, limit);
  const sources = node.prefetch.map((p) => run(c, p, filter, p.limit));
  const query = node.query;
  if (!query) throw badRequest('A query is needed to merge the prefetches.');
  if (query.kind === 'rrf' || query.kind === 'dbsf') {
    const fused =
      query.kind === 'rrf'
        ? rrf(sources, query.k, query.weights)
        : dbsf(
            sources,
            node.prefetch.map((p) => small(c, p)),
          );
    return fused.filter((p) => within(p.score, node.scoreThreshold, false)).slice(0, limit);
  }
  const unique = [...new Set(sources.flat().map((p) => p.slot))];
  return rank(unique, scorer(c, query.input, node.using), node.scoreThreshold, limit);
}

function referenced(node: QueryNode): PointId[] {
  const own = node.query?.kind === 'nearest' && node.query.input.kind === 'id' ? [node.query.input.id] : [];
  return [...own, ...node.prefetch.flatMap(referenced)];
}

export function referenceQuery(c: Collection, request: QueryRequest): Scored[] {
  const ids = referenced(request);
  const exclude: FilterAst | undefined = ids.length > 0 ? { mustNot: [{ has_id: ids }] } : undefined;
  const root: QueryNode = { ...request, filter: mergeFilters(exclude, request.filter) };
  return run(c, root, undefined, request.limit + request.offset).slice(request.offset);
}
