import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot, euclid, normalise, openTarget, statusOf, type Target } from './helpers.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget();
});
afterAll(async () => {
  await t.close();
});

type Sparse = { indices: number[]; values: number[] };
interface Doc {
  id: number;
  v: number[];
  s?: Sparse;
  group: string;
}

/** Deterministic pseudo-random data so expected rankings are computed, not copied. */
function makeDocs(count: number): Doc[] {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return Array.from({ length: count }, (_, i) => {
    const v = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1];
    const terms = [...new Set([Math.floor(rnd() * 6), Math.floor(rnd() * 6), Math.floor(rnd() * 6)])].sort(
      (a, b) => a - b,
    );
    const s =
      i % 5 === 4
        ? undefined
        : { indices: terms, values: terms.map(() => Math.round(rnd() * 100) / 50 + 0.1) };
    return { id: i + 1, v, ...(s ? { s } : {}), group: i % 3 === 0 ? 'a' : 'b' };
  });
}

const DOCS = makeDocs(14);
const Q = [0.7, -0.2, 0.4, 0.1];
const QS: Sparse = { indices: [1, 3, 4], values: [1, 0.5, 2] };

function sparseDot(q: Sparse, d: Sparse | undefined): number | undefined {
  if (!d) return undefined;
  let score = 0;
  let overlap = false;
  q.indices.forEach((index, i) => {
    const j = d.indices.indexOf(index);
    if (j >= 0) {
      overlap = true;
      score += (q.values[i] as number) * (d.values[j] as number);
    }
  });
  return overlap ? score : undefined;
}

type Ranked = { id: number; score: number }[];
const rank = (scored: Ranked, small = false) =>
  [...scored].sort((a, b) => (small ? a.score - b.score : b.score - a.score));
const cosRanking = (docs: Doc[], q: number[]) =>
  rank(docs.map((d) => ({ id: d.id, score: dot(normalise(d.v), normalise(q)) })));
const dotRanking = (docs: Doc[], q: number[]) => rank(docs.map((d) => ({ id: d.id, score: dot(d.v, q) })));
const eucRanking = (docs: Doc[], q: number[]) =>
  rank(
    docs.map((d) => ({ id: d.id, score: euclid(d.v, q) })),
    true,
  );
const sparseRanking = (docs: Doc[], q: Sparse) =>
  rank(
    docs.flatMap((d) => {
      const score = sparseDot(q, d.s);
      return score === undefined ? [] : [{ id: d.id, score }];
    }),
  );

function expectRanking(actual: { id: string | number; score: number }[], expected: Ranked, digits = 4): void {
  expect(actual.map((p) => p.id).sort()).toEqual(expected.map((p) => p.id).sort());
  const byId = new Map(expected.map((p) => [p.id, p.score]));
  for (const p of actual) expect(p.score).toBeCloseTo(byId.get(p.id as number) as number, digits);
  // Order must follow the expected scores (points with equal scores may come in any order).
  const scores = actual.map((p) => byId.get(p.id as number) as number);
  const direction =
    expected.length > 1 &&
    (expected[0] as { score: number }).score < (expected.at(-1) as { score: number }).score
      ? 1
      : -1;
  for (let i = 1; i < scores.length; i++)
    expect(((scores[i] as number) - (scores[i - 1] as number)) * direction).toBeGreaterThanOrEqual(-1e-6);
}

let name: string;
beforeAll(async () => {
  name = t.name('query');
  await t.client.createCollection(name, {
    vectors: {
      cos: { size: 4, distance: 'Cosine' },
      dot: { size: 4, distance: 'Dot' },
      euc: { size: 4, distance: 'Euclid' },
    },
    sparse_vectors: { text: {}, idf: { modifier: 'idf' } },
  });
  await t.client.upsert(name, {
    wait: true,
    points: DOCS.map((d) => ({
      id: d.id,
      vector: { cos: d.v, dot: d.v, euc: d.v, ...(d.s ? { text: d.s, idf: d.s } : {}) },
      payload: { group: d.group, n: d.id, extra: { x: d.id * 2 } },
    })),
  });
});

describe('dense scores', () => {
  it.each([
    ['cos', cosRanking],
    ['dot', dotRanking],
    ['euc', eucRanking],
  ] as const)('ranks and scores %s exactly', async (using, ranking) => {
    const res = await t.client.query(name, { query: Q, using, limit: 5 });
    const expected = ranking(DOCS, Q).slice(0, 5);
    expect(res.points.map((p) => p.id)).toEqual(expected.map((p) => p.id));
    res.points.forEach((p, i) => {
      expect(p.score).toBeCloseTo((expected[i] as { score: number }).score, 5);
    });
  });

  it('applies score_threshold as a lower bound for similarity and an upper bound for Euclid distance', async () => {
    const cos = cosRanking(DOCS, Q);
    const cut = ((cos[2] as { score: number }).score + (cos[3] as { score: number }).score) / 2;
    const high = await t.client.query(name, { query: Q, using: 'cos', score_threshold: cut, limit: 10 });
    expect(high.points.map((p) => p.id)).toEqual(cos.slice(0, 3).map((p) => p.id));
    const euc = eucRanking(DOCS, Q);
    const radius = ((euc[3] as { score: number }).score + (euc[4] as { score: number }).score) / 2;
    const near = await t.client.query(name, { query: Q, using: 'euc', score_threshold: radius, limit: 10 });
    expect(near.points.map((p) => p.id)).toEqual(euc.slice(0, 4).map((p) => p.id));
  });

  it('pages with limit and offset and selects payload keys and vectors', async () => {
    const all = dotRanking(DOCS, Q);
    const page = await t.client.query(name, {
      query: Q,
      using: 'dot',
      limit: 3,
      offset: 2,
      with_payload: ['group', 'extra.x'],
      with_vector: ['dot'],
    });
    expect(page.points.map((p) => p.id)).toEqual(all.slice(2, 5).map((p) => p.id));
    const first = page.points[0];
    const doc = DOCS.find((d) => d.id === first?.id) as Doc;
    expect(first?.payload).toEqual({ group: doc.group, extra: { x: doc.id * 2 } });
    const vectors = (first?.vector ?? {}) as Record<string, number[]>;
    expect(Object.keys(vectors)).toEqual(['dot']);
    (vectors.dot as number[]).forEach((x, i) => {
      expect(x).toBeCloseTo(doc.v[i] as number, 6);
    });
    const bare = await t.client.query(name, { query: Q, using: 'dot', limit: 1 });
    expect(bare.points[0]?.payload ?? undefined).toBeUndefined();
  });

  it('queries by point id without returning that point', async () => {
    const source = DOCS[3] as Doc;
    const res = await t.client.query(name, { query: source.id, using: 'cos', limit: 4 });
    const expected = cosRanking(
      DOCS.filter((d) => d.id !== source.id),
      source.v,
    ).slice(0, 4);
    expect(res.points.map((p) => p.id)).toEqual(expected.map((p) => p.id));
    expect(await statusOf(t.client.query(name, { query: 987654, using: 'cos' }))).toBe(404);
  });

  it('returns points in id order when there is no query', async () => {
    const res = await t.client.query(name, {
      limit: 3,
      filter: { must: [{ key: 'group', match: { value: 'b' } }] },
    });
    expect(res.points.map((p) => p.id)).toEqual(
      DOCS.filter((d) => d.group === 'b')
        .slice(0, 3)
        .map((d) => d.id),
    );
  });
});

describe('sparse vectors', () => {
  it('scores by dot product over shared dimensions and skips points without any', async () => {
    const res = await t.client.query(name, { query: QS, using: 'text', limit: 20 });
    expectRanking(res.points, sparseRanking(DOCS, QS), 5);
  });

  it('weights query terms by Qdrant IDF with modifier idf', async () => {
    const holders = DOCS.filter((d) => d.s);
    const n = holders.length;
    const idf = (index: number) => {
      const df = holders.filter((d) => d.s?.indices.includes(index)).length;
      return Math.log((n - df + 0.5) / (df + 0.5) + 1);
    };
    const weighted = {
      indices: QS.indices,
      values: QS.values.map((w, i) => w * idf(QS.indices[i] as number)),
    };
    const res = await t.client.query(name, { query: QS, using: 'idf', limit: 20 });
    expectRanking(res.points, sparseRanking(DOCS, weighted), 4);
  });
});

function rrf(lists: Ranked[], k = 2): Ranked {
  const scores = new Map<number, number>();
  for (const list of lists) {
    list.forEach((p, r) => {
      scores.set(p.id, (scores.get(p.id) ?? 0) + 1 / (r + k));
    });
  }
  return rank([...scores].map(([id, score]) => ({ id, score })));
}

function dbsf(lists: Ranked[]): Ranked {
  const scores = new Map<number, number>();
  for (const list of lists) {
    const mean = list.reduce((s, p) => s + p.score, 0) / list.length;
    const std = Math.sqrt(list.reduce((s, p) => s + (p.score - mean) ** 2, 0) / (list.length - 1));
    const [low, high] = [mean - 3 * std, mean + 3 * std];
    for (const p of list) scores.set(p.id, (scores.get(p.id) ?? 0) + (p.score - low) / (high - low));
  }
  return rank([...scores].map(([id, score]) => ({ id, score })));
}

describe('hybrid queries', () => {
  const prefetch = [
    { query: Q, using: 'cos', limit: 6 },
    { query: QS, using: 'text', limit: 6 },
  ];
  const sources = (docs: Doc[]) => [cosRanking(docs, Q).slice(0, 6), sparseRanking(docs, QS).slice(0, 6)];

  it('fuses prefetches with RRF (k = 2, 0-based ranks)', async () => {
    const res = await t.client.query(name, { prefetch, query: { fusion: 'rrf' }, limit: 20 });
    expectRanking(res.points, rrf(sources(DOCS)), 5);
  });

  it('fuses prefetches with DBSF (mean ± 3 sample deviations)', async () => {
    const res = await t.client.query(name, { prefetch, query: { fusion: 'dbsf' }, limit: 20 });
    expectRanking(res.points, dbsf(sources(DOCS)), 4);
  });

  it('pushes the query filter into every prefetch', async () => {
    const filter = { must: [{ key: 'group', match: { value: 'b' } }] };
    const res = await t.client.query(name, {
      prefetch,
      query: { fusion: 'rrf' },
      filter,
      limit: 20,
      with_payload: true,
    });
    for (const p of res.points) expect(p.payload?.group).toBe('b');
    expectRanking(res.points, rrf(sources(DOCS.filter((d) => d.group === 'b'))), 5);
  });

  it('rescores nested prefetches stage by stage', async () => {
    const res = await t.client.query(name, {
      prefetch: { prefetch: { query: Q, using: 'euc', limit: 8 }, query: Q, using: 'dot', limit: 4 },
      query: Q,
      using: 'cos',
      limit: 2,
    });
    const stage1 = new Set(
      eucRanking(DOCS, Q)
        .slice(0, 8)
        .map((p) => p.id),
    );
    const stage2 = new Set(
      dotRanking(
        DOCS.filter((d) => stage1.has(d.id)),
        Q,
      )
        .slice(0, 4)
        .map((p) => p.id),
    );
    const expected = cosRanking(
      DOCS.filter((d) => stage2.has(d.id)),
      Q,
    ).slice(0, 2);
    expect(res.points.map((p) => p.id)).toEqual(expected.map((p) => p.id));
    res.points.forEach((p, i) => {
      expect(p.score).toBeCloseTo((expected[i] as { score: number }).score, 5);
    });
  });

  it('answers a batch like the same queries one by one', async () => {
    const searches = [
      { query: Q, using: 'dot', limit: 3 },
      { prefetch, query: { fusion: 'rrf' as const }, limit: 4 },
    ];
    const batch = await t.client.queryBatch(name, { searches });
    const single = await Promise.all(searches.map((s) => t.client.query(name, s)));
    expect(batch.map((r) => r.points.map((p) => p.id))).toEqual(single.map((r) => r.points.map((p) => p.id)));
  });

  it('rejects fusion without prefetches and prefetches without a query', async () => {
    expect(await statusOf(t.client.query(name, { query: { fusion: 'rrf' } }))).toBe(400);
    expect(await statusOf(t.client.query(name, { prefetch }))).toBe(400);
  });
});
