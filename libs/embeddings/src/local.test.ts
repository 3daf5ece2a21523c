import { describe, expect, it } from 'vitest';
import { createLocalEmbedder } from './local.js';
import { createSparseEncoder } from './sparse.js';
import { tokenize } from './tokenize.js';

const cosine = (a: number[], b: number[]) => a.reduce((sum, value, i) => sum + value * (b[i] as number), 0);
const norm = (a: number[]) => Math.sqrt(cosine(a, a));

describe('tokenize', () => {
  it('lower-cases, normalises and splits on anything but letters and digits', () => {
    expect(tokenize('Hello, WORLD! Ｆｕｌｌwidth café 42nd don’t')).toEqual([
      'hello',
      'world',
      'fullwidth',
      'café',
      '42nd',
      "don't",
    ]);
    expect(tokenize('  \n\t ')).toEqual([]);
    expect(tokenize('日本語 テキスト')).toEqual(['日本語', 'テキスト']);
  });
});

describe('local embedder', () => {
  const embedder = createLocalEmbedder({ dimension: 256 });

  it('is deterministic, of the configured dimension and L2-normalised', async () => {
    const [a, b] = await embedder.embed(['The quick brown fox', 'The quick brown fox']);
    expect(a).toHaveLength(256);
    expect(a).toEqual(b);
    expect(norm(a as number[])).toBeCloseTo(1, 6);
    const [again] = await createLocalEmbedder({ dimension: 256 }).embed(['The quick brown fox']);
    expect(again).toEqual(a);
  });

  it('scores texts sharing words and word shapes above unrelated ones', async () => {
    const [query, close, related, far] = await embedder.embed([
      'ingesting documents into a workspace',
      'document ingestion for each workspace',
      'workspaces hold documents',
      'the weather in lisbon is sunny',
    ]);
    const q = query as number[];
    expect(cosine(q, close as number[])).toBeGreaterThan(cosine(q, far as number[]));
    expect(cosine(q, related as number[])).toBeGreaterThan(cosine(q, far as number[]));
  });

  it('gives an empty text a unit vector rather than NaNs', async () => {
    const [empty] = await embedder.embed(['']);
    expect(norm(empty as number[])).toBeCloseTo(1, 6);
    expect((empty as number[]).every(Number.isFinite)).toBe(true);
  });

  it('refuses a nonsensical dimension and honours an aborted signal', async () => {
    expect(() => createLocalEmbedder({ dimension: 0 })).toThrow(/dimension/);
    await expect(embedder.embed(['x'], { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe('sparse encoder', () => {
  const sparse = createSparseEncoder();

  it('gives ascending unique 32-bit indices with saturating term weights', () => {
    const doc = sparse.document('apple apple apple banana');
    expect(doc.indices).toHaveLength(2);
    expect([...doc.indices].sort((a, b) => a - b)).toEqual(doc.indices);
    expect(doc.indices.every((i) => Number.isInteger(i) && i >= 0 && i < 2 ** 32)).toBe(true);
    const apple = doc.values[doc.indices.indexOf(sparse.query('apple').indices[0] as number)] as number;
    const banana = doc.values[doc.indices.indexOf(sparse.query('banana').indices[0] as number)] as number;
    expect(apple).toBeGreaterThan(banana);
    // Saturation: three occurrences weigh far less than three times one.
    expect(apple).toBeLessThan(3 * banana);
    expect(apple).toBeLessThan(2.2);
  });

  it('weighs each distinct query term once, and matches the document indices', () => {
    const query = sparse.query('Banana banana APPLE');
    expect(query.values).toEqual([1, 1]);
    expect(query.indices).toEqual(sparse.document('apple banana').indices);
    expect(sparse.query('')).toEqual({ indices: [], values: [] });
  });

  it('normalises by length: the same count weighs less in a longer text', () => {
    const short = sparse.document('kiwi pear');
    const long = sparse.document(`kiwi ${'filler '.repeat(400)}`);
    const kiwi = sparse.query('kiwi').indices[0] as number;
    expect(short.values[short.indices.indexOf(kiwi)]).toBeGreaterThan(
      long.values[long.indices.indexOf(kiwi)] as number,
    );
  });
});
