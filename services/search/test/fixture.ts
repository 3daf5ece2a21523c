import { Writable } from 'node:stream';
import { createRequester } from '@kb/bus';
import { createLocalEmbedder, createSparseEncoder } from '@kb/embeddings';
import { createLogger } from '@kb/log';
import { startQdrantLocal } from '@kb/qdrant-local';
import { createContextSigner, createContextVerifier, newId, type TenantContext } from '@kb/tenancy';
import type {} from '@kb/testing';
import {
  type ChunkPayload,
  collectionName,
  createQdrantClient,
  ensureCollection,
  pointId,
} from '@kb/vector-store';
import { connect } from '@nats-io/transport-node';
import { inject } from 'vitest';
import { buildSearchService } from '../src/service.js';

export const DIMENSION = 64;
const SECRET = 'search-test-secret'.padEnd(48, 's');

export interface Doc {
  id?: string;
  text: string;
  title?: string;
  metadata?: Record<string, unknown>;
  version?: number;
  live?: boolean;
}

/** The search service in-process against real NATS and the local Qdrant engine, plus helpers to seed data. */
export async function searchFixture(
  options: { qdrantUrl?: string; timeoutMs?: number; natsUrl?: string } = {},
) {
  const engine = options.qdrantUrl ? null : await startQdrantLocal({ port: 0 });
  const qdrant = createQdrantClient({
    url: options.qdrantUrl ?? engine?.url ?? '',
    timeoutMs: options.timeoutMs ?? 3_000,
  });
  const embedder = createLocalEmbedder({ dimension: DIMENSION });
  const sparse = createSparseEncoder();
  const nc = await connect({ servers: options.natsUrl ?? inject('natsUrl') });
  const log = createLogger({
    service: 'search-test',
    version: '0',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const served = await buildSearchService({
    nc,
    log,
    verifier: createContextVerifier(SECRET),
    version: '0.0.0',
    instance: 'test',
    qdrant,
    embedder,
    sparse,
    timeoutMs: options.timeoutMs ?? 3_000,
  });
  const signer = createContextSigner(SECRET);
  const request = createRequester(nc, { timeoutMs: 10_000 });

  const tenant = (): TenantContext => ({
    org: newId('org'),
    ws: newId('workspace'),
    kid: newId('key'),
    scopes: ['search'],
    plan: 'free',
    rid: newId('key'),
  });

  async function seed(t: TenantContext, docs: Doc[]): Promise<string[]> {
    await ensureCollection(qdrant, t, DIMENSION);
    const vectors = await embedder.embed(docs.map((d) => d.text));
    const ids = docs.map((d) => d.id ?? newId('document'));
    await qdrant.upsert(collectionName(t), {
      wait: true,
      points: docs.map((doc, i) => {
        const payload: ChunkPayload = {
          org_id: t.org,
          workspace_id: t.ws,
          document_id: ids[i] as string,
          version: doc.version ?? 1,
          chunk_index: 0,
          text: doc.text,
          title: doc.title ?? null,
          metadata: doc.metadata ?? {},
          live: doc.live ?? true,
        };
        return {
          id: pointId(ids[i] as string, doc.version ?? 1, 0),
          vector: { dense: vectors[i] as number[], sparse: sparse.document(doc.text) },
          payload: payload as unknown as Record<string, unknown>,
        };
      }),
    });
    return ids;
  }

  function query(
    t: TenantContext,
    body: {
      query: string;
      top_k?: number;
      mode?: 'hybrid' | 'dense' | 'sparse';
      filter?: unknown;
      restrict?: unknown;
    },
  ) {
    return request(
      'search.query',
      { context: t, token: signer.sign(t) },
      {
        query: body.query,
        top_k: body.top_k ?? 10,
        mode: body.mode ?? 'hybrid',
        filter: (body.filter ?? null) as never,
        restrict: (body.restrict ?? null) as never,
      },
    );
  }

  return {
    qdrant,
    tenant,
    seed,
    query,
    async close() {
      await served.stop();
      await nc.drain();
      await engine?.close();
    },
  };
}
