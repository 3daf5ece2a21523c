import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type QdrantLocalServer, startQdrantLocal } from '@kb/qdrant-local';
import type { ServiceName } from '@kb/testing';
import { collectionName, createQdrantClient, tenantFilter } from '@kb/vector-store';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { expect } from 'vitest';
import type { Answer, Client } from './http.ts';
import { NATS_SERVICES, type Platform, startPlatform } from './platform.ts';
import type { WorkspaceFixture } from './tenants.ts';

export interface DocumentsPlatform {
  platform: Platform;
  qdrant: QdrantLocalServer;
  vectors: QdrantClient;
  /** The Redis key prefix and durable-name prefix of this platform's ingestion queues. */
  queuePrefix: string;
  stop(): Promise<void>;
}

/**
 * The platform with its own Qdrant engine (in this process, data in a temporary folder) and its own
 * ingestion queues, so runs of different test files never share jobs. `env` tunes the services.
 */
export async function startDocumentsPlatform(
  env: Record<string, string> = {},
  only: readonly ServiceName[] = ['gateway', ...NATS_SERVICES],
): Promise<DocumentsPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kb-test-qdrant-'));
  const qdrant = await startQdrantLocal({ port: 0, dataDir });
  const queuePrefix = `t${randomBytes(5).toString('hex')}`;
  const platform = await startPlatform(only, {
    env: {
      KB_QDRANT_URL: qdrant.url,
      KB_INGEST_QUEUE_PREFIX: queuePrefix,
      KB_EMBEDDING_DIMENSION: '64',
      KB_INGEST_LOCK_MS: '5000',
      KB_INGEST_SWEEP_MS: '1000',
      KB_INGEST_STALE_MS: '5000',
      KB_INGEST_BACKOFF_MS: '200',
      KB_RATE_LIMIT_OVERRIDE: 'free=100000,starter=100000,pro=100000,enterprise=100000',
      ...env,
    },
  });
  return {
    platform,
    qdrant,
    vectors: createQdrantClient({ url: qdrant.url }),
    queuePrefix,
    async stop() {
      await platform.stop();
      await qdrant.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface DocumentView {
  id: string;
  status: string;
  title: string | null;
  metadata: Record<string, unknown>;
  external_id: string | null;
  content_type: string;
  bytes: number;
  chunks: number;
  content_hash: string;
  error: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SearchHit {
  document_id: string;
  chunk_id: string;
  score: number;
  text: string;
  title: string | null;
  metadata: Record<string, unknown>;
}

/** Uploads a file as multipart/form-data, as a browser or `curl -F` would. */
export async function uploadFile(
  baseUrl: string,
  key: string,
  file: { bytes: Uint8Array | string; filename?: string; type?: string },
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Answer<DocumentView>> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const bytes = typeof file.bytes === 'string' ? new TextEncoder().encode(file.bytes) : file.bytes;
  form.append(
    'file',
    new Blob([bytes], { type: file.type ?? 'application/octet-stream' }),
    file.filename ?? 'upload',
  );
  const response = await fetch(`${baseUrl}/v1/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...headers },
    body: form,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : null) as DocumentView,
    headers: response.headers,
  };
}

const FINAL = new Set(['ready', 'failed']);

/** Polls a document until its status is final (ready or failed); returns it. */
export async function settled(ws: WorkspaceFixture, id: string, timeoutMs = 30_000): Promise<DocumentView> {
  const started = Date.now();
  let last: Answer<DocumentView> | null = null;
  while (Date.now() - started < timeoutMs) {
    last = await ws.as<DocumentView>('GET', `/v1/documents/${id}`);
    if (last.status === 200 && FINAL.has(last.body.status)) return last.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`document ${id} not settled within ${timeoutMs} ms: ${JSON.stringify(last?.body)}`);
}

export async function search(
  as: Client,
  query: string,
  extra: Record<string, unknown> = {},
): Promise<SearchHit[]> {
  const answer = await as<{ results: SearchHit[] }>('POST', '/v1/search', { query, top_k: 20, ...extra });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.results;
}

/** Points of the workspace's collection, counted by the engine (0 when the collection does not exist). */
export async function pointCount(vectors: QdrantClient, ws: WorkspaceFixture): Promise<number> {
  const tenant = { org: ws.org.id, ws: ws.id };
  const { exists } = await vectors.collectionExists(collectionName(tenant));
  if (!exists) return 0;
  return (await vectors.count(collectionName(tenant), { exact: true, filter: tenantFilter(tenant) })).count;
}

/** Every document of the workspace, through the list route's pages. */
export async function listAll(ws: WorkspaceFixture, query = ''): Promise<DocumentView[]> {
  const items: DocumentView[] = [];
  let cursor: string | null = null;
  do {
    const page: Answer<{ items: DocumentView[]; next_cursor: string | null }> = await ws.as(
      'GET',
      `/v1/documents?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return items;
}

export { makePdf } from '@kb/testing';
