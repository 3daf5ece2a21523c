import { describe, expect, it } from 'vitest';
import { createTopK, dbsf, rrf, type Scored } from './ranking.js';

const list = (...pairs: [number, number][]): Scored[] => pairs.map(([slot, score]) => ({ slot, score }));

describe('rrf', () => {
  it('matches the figures of Qdrant own reciprocal_rank_fusion test', () => {
    const fused = rrf(
      [list([2, 0.9], [1, 0.8]), list([1, 0.7], [2, 0.6], [3, 0.5]), list([5, 0.9], [3, 0.5], [1, 0.4])],
      2,
      undefined,
    );
    expect(fused.map((p) => p.slot)).toEqual([1, 2, 3, 5]);
    expect(fused.map((p) => p.score)).toEqual([1.0833334, 0.8333334, 0.5833334, 0.5].map(Math.fround));
  });

  it('lets a heavier source win with weights', () => {
    const fused = rrf([list([1, 0.9], [2, 0.8]), list([2, 0.9], [1, 0.8])], 2, [3, 1]);
    expect(fused[0]?.slot).toBe(2);
    expect(fused[0]?.score).toBeGreaterThan(fused[1]?.score as number);
  });
});

describe('dbsf', () => {
  it('scores a lone point 0.5 and normalises by mean ± 3 sample deviations', () => {
    expect(dbsf([list([7, 3])], [false])).toEqual(list([7, 0.5]));
    const fused = dbsf([list([1, 3], [2, 2], [3, 1])], [false]);
    // mean 2, sample deviation 1 → low -1, high 5
    expect(fused.map((p) => p.score)).toEqual([4 / 6, 3 / 6, 2 / 6].map(Math.fround));
  });

  it('inverts lists where smaller scores are better', () => {
    const fused = dbsf(
      [list([1, 0.05], [2, 0.4], [3, 0.9]), list([1, 0.95], [2, 0.5], [3, 0.1])],
      [true, false],
    );
    expect(fused.map((p) => p.slot)).toEqual([1, 2, 3]);
  });
});

describe('top k', () => {
  it('keeps the best k in order for both directions', () => {
    const large = createTopK(3, false);
    const small = createTopK(3, true);
    [5, 1, 9, 3, 7, 2].forEach((score, slot) => {
      large.push(slot, score);
      small.push(slot, score);
    });
    expect(large.result().map((p) => p.score)).toEqual([9, 7, 5]);
    expect(small.result().map((p) => p.score)).toEqual([1, 2, 3]);
  });
});
