import { randomUUID } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { startQdrantLocal } from '../src/index.js';

/**
 * Where the conformance suite runs: a real Qdrant when QDRANT_URL is set (with QDRANT_API_KEY if given), otherwise
 * the local engine started in this process.
 */
export interface Target {
  url: string;
  apiKey: string | undefined;
  local: boolean;
  client: QdrantClient;
  /** Deletes the collections this file created and stops the local engine. */
  close(): Promise<void>;
  /** A collection name unique to this run, remembered for cleanup. */
  name(prefix: string): string;
}

export const REMOTE_URL = process.env.QDRANT_URL;
export const REMOTE_API_KEY = process.env.QDRANT_API_KEY;

export async function openTarget(): Promise<Target> {
  const local = REMOTE_URL ? undefined : await startQdrantLocal({ port: 0 });
  const url = REMOTE_URL ?? (local?.url as string);
  const apiKey = REMOTE_URL ? REMOTE_API_KEY : undefined;
  const client = new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), checkCompatibility: false });
  const created: string[] = [];
  return {
    url,
    apiKey,
    local: local !== undefined,
    client,
    name(prefix) {
      const name = `qlt_${prefix}_${randomUUID().slice(0, 8)}`;
      created.push(name);
      return name;
    },
    async close() {
      await Promise.allSettled(created.map((name) => client.deleteCollection(name)));
      await local?.close();
    },
  };
}

/** The HTTP status of a rejected client call (the client throws ApiError with `.status`). */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number') return status;
    throw error;
  }
  throw new Error('expected the call to fail');
}

export function dot(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
}

export function normalise(a: number[]): number[] {
  const n = Math.sqrt(dot(a, a));
  return a.map((x) => x / n);
}

export function euclid(a: number[], b: number[]): number {
  return Math.sqrt(a.reduce((sum, x, i) => sum + (x - (b[i] as number)) ** 2, 0));
}

export function ids(points: { id: string | number }[]): (string | number)[] {
  return points.map((p) => p.id);
}

/** Ids in Qdrant's order: integers ascending, then UUIDs ascending. */
export function sortIds(list: (string | number)[]): (string | number)[] {
  return [...list].sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'number') return -1;
    if (typeof b === 'number') return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
