import { describe, expect, it } from 'vitest';
import { embedThreadsOf, type IngestionConfig } from './config.js';

const config = (threads?: number) =>
  (threads === undefined ? {} : { KB_INGEST_EMBED_THREADS: threads }) as IngestionConfig;

describe('embedding threads', () => {
  it('default to one fewer than the cores, at least one and at most four', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => embedThreadsOf(config(), cores))).toEqual([1, 1, 2, 3, 4, 4]);
  });

  it('are what KB_INGEST_EMBED_THREADS says when it is set, 0 included', () => {
    expect(embedThreadsOf(config(0), 8)).toBe(0);
    expect(embedThreadsOf(config(6), 2)).toBe(6);
  });
});
