/** A point's slot in its collection with the score a query gave it. */
export interface Scored {
  slot: number;
  score: number;
}

/** True when `a` ranks before `b`: by score in the distance's direction, ties by slot for a stable order. */
function before(a: Scored, b: Scored, smallBetter: boolean): boolean {
  return ranksBefore(a.score, a.slot, b.score, b.slot, smallBetter);
}

function ranksBefore(aScore: number, aSlot: number, bScore: number, bSlot: number, small: boolean): boolean {
  if (aScore !== bScore) return small ? aScore < bScore : aScore > bScore;
  return aSlot < bSlot;
}

export interface TopK {
  push(slot: number, score: number): void;
  /** The kept points, best first. */
  result(): Scored[];
}

/**
 * Keeps the best `k` of a stream of scored points in a binary heap (parallel arrays, no object per point) whose
 * root is the worst kept point; a point that cannot enter costs one comparison.
 */
export function createTopK(k: number, smallBetter: boolean): TopK {
  const scores: number[] = [];
  const slots: number[] = [];
  const scoreAt = (i: number) => scores[i] as number;
  const slotAt = (i: number) => slots[i] as number;
  // Whether heap entry i should sit above entry j, i.e. i ranks after j.
  const worse = (i: number, j: number) =>
    ranksBefore(scoreAt(j), slotAt(j), scoreAt(i), slotAt(i), smallBetter);
  const place = (i: number, score: number, slot: number) => {
    scores[i] = score;
    slots[i] = slot;
  };
  const swap = (i: number, j: number) => {
    const score = scoreAt(i);
    const slot = slotAt(i);
    place(i, scoreAt(j), slotAt(j));
    place(j, score, slot);
  };
  const down = (start: number) => {
    const n = scores.length;
    for (let i = start; ; ) {
      const l = 2 * i + 1;
      let m = i;
      if (l < n && worse(l, m)) m = l;
      if (l + 1 < n && worse(l + 1, m)) m = l + 1;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  return {
    push(slot, score) {
      if (k <= 0) return;
      if (scores.length < k) {
        place(scores.length, score, slot);
        for (let i = scores.length - 1; i > 0; ) {
          const p = (i - 1) >> 1;
          if (!worse(i, p)) break;
          swap(i, p);
          i = p;
        }
      } else if (ranksBefore(score, slot, scoreAt(0), slotAt(0), smallBetter)) {
        place(0, score, slot);
        down(0);
      }
    },
    result() {
      const out = scores.map((score, i) => ({ slot: slots[i] as number, score }));
      return sortScored(out, smallBetter);
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
