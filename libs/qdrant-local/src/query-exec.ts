import type { Collection, DenseStore, SparseStore } from './collection.js';
import { denseSearch } from './dense-store.js';
import { badRequest, notFound } from './errors.js';
import { type FilterAst, mergeFilters } from './filter.js';
import type { PointId } from './ids.js';
import type { QueryNode, QueryRequest, VectorInput } from './query-parse.js';
import { createTopK, dbsf, rrf, type Scored, type TopK } from './ranking.js';
import { querySelection, scrollSlots } from './select.js';
import { idfWeights, sparseScore } from './sparse.js';
import { sparseSearch } from './sparse-store.js';
import { denseScore, parseDenseVector, prepareDense, type SparseVector, smallBetter } from './vectors.js';

/**
 * A query vector ready to score stored vectors of one name: one slot at a time (rescoring prefetched points) or
 * every slot of a selection at once (a nearest search), with the same scores either way.
 */
type Scorer = {
  smallBetter: boolean;
  score(slot: number): number | undefined;
  searchAll(bits: Uint32Array, top: TopK, threshold: number | undefined): void;
};

function denseScorer(store: DenseStore, values: number[], name: string): Scorer {
  const query = prepareDense(parseDenseVector(values, store.params.size, name), store.params.distance);
  const { distance, size } = store.params;
  return {
    smallBetter: smallBetter(distance),
    score: (slot) =>
      store.has[slot] === 1 ? denseScore(distance, query, store.data, slot * size) : undefined,
    searchAll: (bits, top, threshold) => denseSearch(store, query, bits, top, threshold),
  };
}

function sparseScorer(store: SparseStore, vector: SparseVector): Scorer {
  const query = store.params.modifier === 'idf' ? idfWeights(store, vector) : vector;
  return {
    smallBetter: false,
    score: (slot) => {
      const stored = store.vectors[slot];
      return stored ? sparseScore(query, stored) : undefined;
    },
    searchAll: (bits, top, threshold) => sparseSearch(store, query, bits, top, threshold),
  };
}

function vectorOf(c: Collection, id: PointId, using: string): VectorInput {
  const slot = c.idToSlot.get(id);
  if (slot === undefined) throw notFound(`No point with id ${id} found`);
  const dense = c.dense.get(using);
  if (dense?.has[slot] === 1) {
    const offset = slot * dense.params.size;
    return { kind: 'dense', values: Array.from(dense.data.subarray(offset, offset + dense.params.size)) };
  }
  const vector = c.sparse.get(using)?.vectors[slot];
  if (vector) return { kind: 'sparse', vector };
  throw notFound(`Vector with name ${JSON.stringify(using)} for point ${id}`);
}

function makeScorer(c: Collection, input: VectorInput, using: string): Scorer {
  const resolved = input.kind === 'id' ? vectorOf(c, input.id, using) : input;
  const dense = c.dense.get(using);
  const sparse = c.sparse.get(using);
  if (!dense && !sparse) throw badRequest(`Not existing vector name error: ${using}`);
  if (resolved.kind === 'dense') {
    if (!dense) throw badRequest(`Conversion between sparse and regular vectors failed for ${using}`);
    return denseScorer(dense, resolved.values, using);
  }
  if (resolved.kind === 'sparse') {
    if (!sparse) throw badRequest(`Conversion between sparse and regular vectors failed for ${using}`);
    return sparseScorer(sparse, resolved.vector);
  }
  throw badRequest('unresolved point id');
}

function withinThreshold(score: number, threshold: number | undefined, small: boolean): boolean {
  return threshold === undefined || (small ? score <= threshold : score >= threshold);
}

/** Exact nearest-neighbour search over every point passing the filter. */
function searchLeaf(c: Collection, node: QueryNode, filter: FilterAst | undefined, limit: number): Scored[] {
  const bits = querySelection(c, filter);
  if (!node.query) {
    const selection = { bits, check: undefined };
    return scrollSlots(c, selection, undefined, limit).slots.map((slot) => ({ slot, score: 0 }));
  }
  if (node.query.kind !== 'nearest') throw badRequest('cannot apply Fusion without prefetches');
  const scorer = makeScorer(c, node.query.input, node.using);
  const top = createTopK(limit, scorer.smallBetter);
  scorer.searchAll(bits, top, node.scoreThreshold);
  return top.result();
}

/** Whether a node's results rank small-first (a Euclid or Manhattan nearest query). */
function nodeSmallBetter(c: Collection, node: QueryNode): boolean {
  if (node.query?.kind !== 'nearest') return false;
  const store = c.dense.get(node.using);
  return store ? smallBetter(store.params.distance) : false;
}

function runNode(c: Collection, node: QueryNode, inherited: FilterAst | undefined, limit: number): Scored[] {
  // Qdrant pushes the query's filter into every prefetch (planned_query.rs: "Filters are propagated into the leaves").
  const filter = mergeFilters(inherited, node.filter);
  if (node.prefetch.length === 0) return searchLeaf(c, node, filter, limit);
  const sources = node.prefetch.map((p) => runNode(c, p, filter, p.limit));
  const query = node.query;
  if (!query)
    throw badRequest(
      "A query is needed to merge the prefetches. Can't have prefetches without defining a query.",
    );
  if (query.kind === 'rrf' || query.kind === 'dbsf') {
    const fused =
      query.kind === 'rrf'
        ? rrf(sources, query.k, query.weights)
        : dbsf(
            sources,
            node.prefetch.map((p) => nodeSmallBetter(c, p)),
          );
    return fused.filter((p) => withinThreshold(p.score, node.scoreThreshold, false)).slice(0, limit);
  }
  // Rescoring: the prefetched points, scored again by this node's query.
  const scorer = makeScorer(c, query.input, node.using);
  const top = createTopK(limit, scorer.smallBetter);
  const seen = new Set<number>();
  for (const source of sources) {
    for (const { slot } of source) {
      if (seen.has(slot)) continue;
      seen.add(slot);
      const score = scorer.score(slot);
      if (score !== undefined && withinThreshold(score, node.scoreThreshold, scorer.smallBetter))
        top.push(slot, score);
    }
  }
  return top.result();
}

function referencedIds(node: QueryNode, out: PointId[]): PointId[] {
  if (node.query?.kind === 'nearest' && node.query.input.kind === 'id') out.push(node.query.input.id);
  for (const p of node.prefetch) referencedIds(p, out);
  return out;
}

/** Runs a Query API request; the points used as query vectors never appear in the results, as in Qdrant. */
export function executeQuery(c: Collection, request: QueryRequest): Scored[] {
  const ids = referencedIds(request, []);
  const exclude: FilterAst | undefined = ids.length > 0 ? { mustNot: [{ has_id: ids }] } : undefined;
  const root: QueryNode = { ...request, filter: mergeFilters(exclude, request.filter) };
  return runNode(c, root, undefined, request.limit + request.offset).slice(request.offset);
}
