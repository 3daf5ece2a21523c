/** A point's slot in its collection with the score a query gave it. */
export interface Scored {
  slot: number;
  score: number;
}

/** True when `a` ranks before `b`: by score in the distance's direction, ties by slot for a stable order. */
function before(a: Scored, b: Scored, smallBetter: boolean): boolean {
  if (a.score !== b.score) return smallBetter ? a.score < b.score : a.score > b.score;
  return a.slot < b.slot;
}

/**
 * Keeps the best `k` of a stream of scored points with a binary heap whose root is the worst kept point, then
 * returns them best first.
 */
export function createTopK(k: number, smallBetter: boolean) {
  const heap: Scored[] = [];
  const worse = (i: number, j: number) => before(heap[j] as Scored, heap[i] as Scored, smallBetter);
  const swap = (i: number, j: number) => {
    const t = heap[i] as Scored;
    heap[i] = heap[j] as Scored;
    heap[j] = t;
  };
  const down = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(l, m)) m = l;
      if (r < heap.length && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  return {
    push(slot: number, score: number): void {
      if (k <= 0) return;
      const item = { slot, score };
      if (heap.length < k) {
        heap.push(item);
        let i = heap.length - 1;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!worse(i, p)) break;
          swap(i, p);
          i = p;
        }
      } else if (before(item, heap[0] as Scored, smallBetter)) {
        heap[0] = item;
        down(0);
      }
    },
    result(): Scored[] {
      return [...heap].sort((a, b) => (before(a, b, smallBetter) ? -1 : before(b, a, smallBetter) ? 1 : 0));
    },
  };
}

export function sortScored(list: Scored[], smallBetter: boolean): Scored[] {
  return list.sort((a, b) => (before(a, b, smallBetter) ? -1 : before(b, a, smallBetter) ? 1 : 0));
}

/**
 * Reciprocal rank fusion as Qdrant computes it (lib/segment/src/common/reciprocal_rank_fusion.rs): each list adds
 * 1 / ((rank + 1) / weight + k - 1) for a 0-based rank, i.e. 1 / (rank + k) with the default weight 1; k is 2.
 */
export function rrf(sources: Scored[][], k: number, weights: number[] | undefined): Scored[] {
  const f = Math.fround;
  const scores = new Map<number, number>();
  sources.forEach((list, i) => {
    const weight = f(weights?.[i] ?? 1);
    list.forEach((point, rank) => {
      // f32 arithmetic step by step, as Qdrant computes it.
      const add = weight <= 0 ? 0 : f(1 / f(f(f((rank + 1) / weight) + k) - 1));
      scores.set(point.slot, f((scores.get(point.slot) ?? 0) + add));
    });
  });
  return sortScored(
    [...scores].map(([slot, score]) => ({ slot, score })),
    false,
  );
}

/**
 * Distribution-based score fusion as in Qdrant's score_fusion.rs: each list is normalised by its mean ± 3 sample
 * standard deviations (Welford), (s - low) / (high - low) with no clamping, 0.5 for a single point or a zero spread,
 * inverted for lists where smaller is better; normalised scores are summed per point.
 */
export function dbsf(sources: Scored[][], smallBetter: boolean[]): Scored[] {
  const f = Math.fround;
  const scores = new Map<number, number>();
  sources.forEach((list, i) => {
    let normalised: number[];
    if (list.length < 2) {
      normalised = list.map(() => 0.5);
    } else {
      let mean = 0;
      let aggregate = 0;
      list.forEach((p, j) => {
        const delta = f(p.score - mean);
        mean = f(mean + f(delta / (j + 1)));
        aggregate = f(aggregate + f(delta * f(p.score - mean)));
      });
      const std = f(Math.sqrt(f(aggregate / (list.length - 1))));
      const low = f(mean - f(3 * std));
      const high = f(mean + f(3 * std));
      const span = f(high - low);
      normalised =
        low === high
          ? list.map(() => 0.5)
          : list.map((p) => f((smallBetter[i] ? f(high - p.score) : f(p.score - low)) / span));
    }
    list.forEach((p, j) => {
      scores.set(p.slot, f((scores.get(p.slot) ?? 0) + (normalised[j] as number)));
    });
  });
  return sortScored(
    [...scores].map(([slot, score]) => ({ slot, score })),
    false,
  );
}
