import { pathToFileURL } from 'node:url';
import { createRequester } from '@kb/bus';
import type { SearchQuery } from '@kb/contracts';
import { createLocalEmbedder, createSparseEncoder } from '@kb/embeddings';
import { createContextSigner, newId, type TenantContext } from '@kb/tenancy';
import { spawnService, startInfra } from '@kb/testing';
import { collectionName, createQdrantClient, ensureCollection, pointId } from '@kb/vector-store';
import { connect } from '@nats-io/transport-node';
import { search } from '../services/search/src/domain/search.ts';
import { benchEnv, createTenant, gatewayApi, startEngine } from './support.ts';

/**
 * `POST /v1/search` through gateway → NATS → search service → engine, beside the same embedding and engine
 * query made in one process, on one workspace of BENCH_CHUNKS chunks (default 100,000), at concurrency 1
 * and 8, the sides interleaved. Both sides query the same engine process. Target: p50 ratio ≤ 1.5.
 */
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DIMENSION = 384;
const WORDS =
  'ocean tide glacier volcano magma bread flour starter invoice payroll vacation policy router kernel cache index vector search budget forecast contract clause river delta harvest orchard sensor signal'.split(
    ' ',
  );

function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

const sentence = (rand: () => number, n: number) =>
  Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

/** Latencies of `run` over `queries` with `concurrency` callers at once. */
async function latencies(concurrency: number, queries: string[], run: (q: string) => Promise<void>) {
  const taken: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries.length) {
        const q = queries[next++] as string;
        const started = performance.now();
        await run(q);
        taken.push(performance.now() - started);
      }
    }),
  );
  return taken;
}

/**
 * Every side over the same queries, interleaved in ROUNDS rounds (a slice of the queries each, the sides'
 * order rotating), so that a noisy moment of the machine falls on all sides alike.
 */
async function measure<K extends string>(
  concurrency: number,
  queries: string[],
  sides: Record<K, (q: string) => Promise<void>>,
) {
  const names = Object.keys(sides) as K[];
  const taken = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const size = Math.ceil(queries.length / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const slice = queries.slice(round * size, (round + 1) * size);
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length] as K;
      taken[name].push(...(await latencies(concurrency, slice, sides[name])));
    }
  }
  return Object.fromEntries(
    names.map((name) => [name, { p50: percentile(taken[name], 50), p99: percentile(taken[name], 99) }]),
  ) as Record<K, { p50: number; p99: number }>;
}

export default async function run(): Promise<void> {
  const infra = await startInfra();
  const engine = await startEngine();
  const env = {
    ...benchEnv(infra, 'kb_bench_search'),
    KB_QDRANT_URL: engine.url,
    KB_EMBEDDING_DIMENSION: String(DIMENSION),
    KB_RATE_LIMIT_OVERRIDE: 'enterprise=1000000',
  };
  const api = gatewayApi(`http://127.0.0.1:${env.KB_GATEWAY_PORT}`);
  const services = await Promise.all(
    ['tenant', 'search', 'usage', 'gateway'].map((name) => spawnService(name as 'tenant', env)),
  );
  try {
    const created = await createTenant(api, env.KB_MASTER_KEY, 'bench', ['search']);
    const tenant: TenantContext = {
      org: created.org,
      ws: created.ws,
      kid: created.keyId,
      scopes: ['search'],
      plan: 'enterprise',
      rid: 'bench',
    };

    const qdrant = createQdrantClient({ url: engine.url, timeoutMs: 60_000 });
    const embedder = createLocalEmbedder({ dimension: DIMENSION });
    const sparse = createSparseEncoder();
    await ensureCollection(qdrant, tenant, DIMENSION);
    const rand = random(7);
    const seedStarted = performance.now();
    for (let start = 0; start < CHUNKS; start += 500) {
      const texts = Array.from({ length: Math.min(500, CHUNKS - start) }, () => sentence(rand, 40));
      const vectors = await embedder.embed(texts);
      await qdrant.upsert(collectionName(tenant), {
        wait: true,
        points: texts.map((text, i) => {
          const documentId = newId('document');
          return {
            id: pointId(documentId, 1, 0),
            vector: { dense: vectors[i] as number[], sparse: sparse.document(text) },
            payload: {
              org_id: tenant.org,
              workspace_id: tenant.ws,
              document_id: documentId,
              version: 1,
              chunk_index: 0,
              text,
              title: null,
              metadata: { n: start + i },
              live: true,
            },
          };
        }),
      });
    }
    console.log(
      `\n## Search on ${CHUNKS} chunks (${DIMENSION}-d, hybrid, top 10; seeded in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s)`,
    );

    const queries = Array.from({ length: QUERIES }, () => sentence(rand, 4));
    const deps = { qdrant, embedder, sparse, timeoutMs: 30_000 };
    const inProcess = async (q: string) => {
      const request: SearchQuery = { query: q, top_k: 10, mode: 'hybrid', filter: null, restrict: null };
      await search(deps, tenant, request);
    };
    // The service's own `took_ms` (embedding and engine query) of each answer, to tell where the rest goes.
    const serviceTimes: number[] = [];
    const viaGateway = async (q: string) => {
      const answer = await api('POST', '/v1/search', created.key, { query: q, top_k: 10 });
      serviceTimes.push(Number(answer.took_ms));
    };
    // The search service asked over NATS directly, as the gateway asks it: splits the gateway's share from
    // the bus's and the service's.
    const nc = await connect({ servers: infra.natsUrl });
    const requester = createRequester(nc, { timeoutMs: 30_000 });
    const signer = createContextSigner(env.KB_CONTEXT_SECRET);
    const overNats = async (q: string) => {
      const caller = { context: tenant, token: signer.sign(tenant) };
      await requester('search.query', caller, {
        query: q,
        top_k: 10,
        mode: 'hybrid',
        filter: null,
        restrict: null,
      });
    };
    for (const q of queries.slice(0, 20)) {
      await inProcess(q);
      await overNats(q);
      await viaGateway(q);
    }
    const ms = (n: number) => `${n.toFixed(2)} ms`;
    for (const concurrency of [1, 8]) {
      serviceTimes.length = 0;
      const {
        inProcess: base,
        overNats: bus,
        viaGateway: full,
      } = await measure(concurrency, queries, { inProcess, overNats, viaGateway });
      const service = percentile(serviceTimes, 50);
      console.log(
        `concurrency ${concurrency}: in-process p50 ${ms(base.p50)} p99 ${ms(base.p99)} | ` +
          `via gateway p50 ${ms(full.p50)} p99 ${ms(full.p99)} | ` +
          `ratio p50 ${(full.p50 / base.p50).toFixed(2)} (target ≤ 1.5) p99 ${(full.p99 / base.p99).toFixed(2)}\n` +
          `  (search service over NATS, no gateway: p50 ${ms(bus.p50)} p99 ${ms(bus.p99)}, ` +
          `ratio p50 ${(bus.p50 / base.p50).toFixed(2)}; the service's own took_ms p50 ${service.toFixed(0)})`,
      );
    }
    await nc.drain();
  } finally {
    await Promise.all(services.map((s) => s.stop(10_000)));
    await engine.stop();
    await infra.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
