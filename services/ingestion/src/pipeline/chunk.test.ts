import { describe, expect, it } from 'vitest';
import { chunkText } from './chunk.js';

const sentence = (i: number) => `Sentence number ${i} talks about topic ${i % 7}.`;

describe('chunkText', () => {
  it('keeps a short text whole and drops blank input', () => {
    expect(chunkText('Just one line.', { size: 100, overlap: 10 })).toEqual(['Just one line.']);
    expect(chunkText(' \n\n  ', { size: 100, overlap: 10 })).toEqual([]);
  });

  it('never exceeds the size, and covers every word in order', () => {
    const text = Array.from({ length: 40 }, (_, p) =>
      Array.from({ length: 1 + (p % 5) }, (_, s) => sentence(p * 10 + s)).join(' '),
    ).join('\n\n');
    const chunks = chunkText(text, { size: 200, overlap: 40 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(200);
    const words = text.split(/\s+/);
    const seen = chunks.join(' ').split(/\s+/);
    // Every word appears, in order (overlap repeats some).
    let cursor = 0;
    for (const word of seen) if (word === words[cursor]) cursor += 1;
    expect(cursor).toBe(words.length);
  });

  it('breaks on paragraph and sentence boundaries when they fit', () => {
    const text = `${sentence(1)} ${sentence(2)}\n\n${sentence(3)} ${sentence(4)}`;
    const chunks = chunkText(text, { size: 100, overlap: 0 });
    expect(chunks).toEqual([`${sentence(1)} ${sentence(2)}`, `${sentence(3)} ${sentence(4)}`]);
    const bySentence = chunkText(`${sentence(1)} ${sentence(2)} ${sentence(3)}`, { size: 60, overlap: 0 });
    expect(bySentence).toEqual([sentence(1), sentence(2), sentence(3)]);
  });

  it('repeats the end of a chunk at the start of the next, from a word boundary', () => {
    const text = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkText(text, { size: 60, overlap: 20 });
    for (let i = 1; i < chunks.length; i++) {
      const firstWord = (chunks[i] as string).split(' ')[0] as string;
      expect(chunks[i - 1]).toContain(firstWord);
      expect(firstWord).toMatch(/^word\d+$/);
    }
  });

  it('cuts a single enormous word without breaking surrogate pairs', () => {
    const text = '😀'.repeat(1000);
    const chunks = chunkText(text, { size: 101, overlap: 0 });
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(101);
      expect(() => encodeURIComponent(chunk)).not.toThrow();
    }
    expect(chunks.join('')).toBe(text);
  });

  // Runaway (quadratic) splitting would blow the test timeout; speed itself is the ingestion bench's business.
  it('splits a 10 MB single line into bounded chunks', () => {
    const line = 'lorem ipsum dolor sit amet '.repeat(400_000);
    const chunks = chunkText(line, { size: 1000, overlap: 150 });
    expect(chunks.length).toBeGreaterThan(10_000);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1000);
  });

  it('is deterministic', () => {
    const text = Array.from({ length: 50 }, (_, i) => sentence(i)).join(' ');
    expect(chunkText(text, { size: 150, overlap: 30 })).toEqual(chunkText(text, { size: 150, overlap: 30 }));
  });
});
