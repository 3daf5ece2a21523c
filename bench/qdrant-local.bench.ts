import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startQdrantLocal } from '@kb/qdrant-local';
import { newId } from '@kb/tenancy';
import { ensureCollection, type Filter, type TenantRef, withTenant } from '@kb/vector-store';
import { QdrantClient } from '@qdrant/js-client-rest';
import { parseCreateCollection } from '../libs/qdrant-local/src/config.ts';
import { openEngine } from '../libs/qdrant-local/src/engine.ts';
import { dataBytes } from '../libs/qdrant-local/src/persistence.ts';

/**
 * qdrant-local against a plain brute-force loop over the same Float32 data in the same process:
 * upsert throughput through @qdrant/js-client-rest (durable, wait=true, keyword index maintained), filtered
 * query latency (keyword match, top 10, Cosine), and the search service's filtered hybrid / dense / sparse
 * queries on a collection shaped like a workspace's; and how long a snapshot of the same points stops the
 * engine (its longest event-loop pause beside the whole snapshot's time). BENCH_POINTS and BENCH_QUERIES scale
 * the run down.
 */
const POINTS = Number(process.env.BENCH_POINTS ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const DIM = 384;
const VALUES = 100;
const BATCH = 500;
const TOP = 10;
const HYBRID_TOP = 30;
const VOCAB = 5000;
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function normalised(data: Float32Array, count: number): Float32Array {
  const out = new Float32Array(data);
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let d = 0; d < DIM; d++) norm += (out[i * DIM + d] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let d = 0; d < DIM; d++) out[i * DIM + d] = (out[i * DIM + d] as number) / norm;
  }
  return out;
}

type Hit = { id: number; score: number };

/** Keeps the best `top` hits, best first. */
function keep(best: Hit[], top: number, id: number, score: number): void {
  if (best.length < top || score > (best[best.length - 1] as Hit).score) {
    best.push({ id, score });
    best.sort((a, b) => b.score - a.score);
    if (best.length > top) best.pop();
  }
}

/** The baseline: every point, filter check, dot product on unit vectors, keep the best `top`. */
function bruteForce(unit: Float32Array, query: Float32Array, ok: (i: number) => boolean, top = TOP) {
  const best: Hit[] = [];
  for (let i = 0; i < POINTS; i++) {
    if (!ok(i)) continue;
    let score = 0;
    const base = i * DIM;
    for (let d = 0; d < DIM; d++) score += (query[d] as number) * (unit[base + d] as number);
    keep(best, top, i, score);
  }
  return best;
}

type Sparse = { indices: Uint32Array; values: Float32Array };

/** A bag of `length` terms of a Zipf-like vocabulary (term t has probability ~ 1/t), weighted as the
 * platform's BM25 encoder weighs them; a query weighs each term 1. */
function bag(rnd: () => number, length: number, query: boolean): Sparse {
  const counts = new Map<number, number>();
  for (let i = 0; i < length; i++) {
    const t = Math.floor(VOCAB ** rnd()) - 1;
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const indices = Uint32Array.from([...counts.keys()].sort((a, b) => a - b));
  const tf = (t: number) => counts.get(t) as number;
  return { indices, values: Float32Array.from(indices, (t) => (query ? 1 : (tf(t) * 2.2) / (tf(t) + 1.2))) };
}

/** The sparse baseline: IDF-weighted query, then a merge dot product with every point passing the filter. */
function sparseBrute(docs: Sparse[], q: Sparse, df: Map<number, number>, ok: (i: number) => boolean): Hit[] {
  const idf = (t: number) => Math.log((docs.length - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5) + 1);
  const w = Float32Array.from(q.indices, (t, i) => (q.values[i] as number) * idf(t));
  const best: Hit[] = [];
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i] as Sparse;
    if (!ok(i)) continue;
    let a = 0;
    let b = 0;
    let score = 0;
    let hit = false;
    while (a < q.indices.length && b < d.indices.length) {
      const x = q.indices[a] as number;
      const y = d.indices[b] as number;
      if (x === y) {
        score += (w[a++] as number) * (d.values[b++] as number);
        hit = true;
      } else if (x < y) a++;
      else b++;
    }
    if (hit) keep(best, HYBRID_TOP, i, score);
  }
  return best;
}

/** Reciprocal rank fusion with Qdrant's default k = 2. */
function rrf(lists: Hit[][]): number[] {
  const scores = new Map<number, number>();
  for (const list of lists)
    for (const [r, h] of list.entries()) scores.set(h.id, (scores.get(h.id) ?? 0) + 1 / (r + 2));
  const ranked = [...scores].sort((a, b) => b[1] - a[1]);
  return ranked.slice(0, HYBRID_TOP).map(([id]) => id);
}

function row(label: string, value: string, baseline: string, ratio: number): void {
  console.log(
    `${label.padEnd(16)} ${value.padStart(16)}   baseline ${baseline.padStart(16)}   ratio ${ratio.toFixed(3)}`,
  );
}

/** p50 and p99 of the engine's latencies beside the loop's. */
function latencyRows(label: string, engine: number[], loop: number[]): void {
  engine.sort((a, b) => a - b);
  loop.sort((a, b) => a - b);
  for (const p of [50, 99]) {
    const [e, b] = [percentile(engine, p), percentile(loop, p)];
    row(`${label} p${p}`, `${e.toFixed(2)} ms`, `${b.toFixed(2)} ms`, e / b);
  }
}

type Payload = { org_id: string; workspace_id: string; live: boolean } & Record<string, unknown>;

/** A workspace's collection, made by libs/vector-store; one point in 50 is not live (a version swap). */
async function seedHybrid(client: QdrantClient, tenant: TenantRef, data: Float32Array, rnd: () => number) {
  const name = await ensureCollection(client, tenant, DIM);
  const docs: Sparse[] = [];
  const payloads: Payload[] = [];
  const df = new Map<number, number>();
  for (let start = 0; start < POINTS; start += BATCH) {
    const points = [];
    for (let i = start; i < Math.min(POINTS, start + BATCH); i++) {
      const doc = bag(rnd, 40, false);
      for (const t of doc.indices) df.set(t, (df.get(t) ?? 0) + 1);
      const [org_id, workspace_id, document_id] = [tenant.org, tenant.ws, `doc_${Math.floor(i / 8)}`];
      const chunk = { version: 1, chunk_index: i % 8, text: `chunk ${i}`, title: null, metadata: { n: i } };
      const payload: Payload = { org_id, workspace_id, document_id, ...chunk, live: i % 50 !== 0 };
      docs.push(doc);
      payloads.push(payload);
      const sparse = { indices: Array.from(doc.indices), values: Array.from(doc.values) };
      const vector = { dense: Array.from(data.subarray(i * DIM, (i + 1) * DIM)), sparse };
      points.push({ id: i, vector, payload });
    }
    await client.upsert(name, { wait: true, points });
  }
  return { name, docs, payloads, df };
}

const KINDS = ['hybrid', 'dense', 'sparse'] as const;
/** The search service's three request shapes (services/search/src/domain/search.ts), in KINDS order. */
function requests(filter: Filter, dense: number[], sparse: { indices: number[]; values: number[] }) {
  const one = { filter, limit: HYBRID_TOP, with_payload: true };
  const prefetch = [
    { query: dense, using: 'dense', filter, limit: HYBRID_TOP },
    { query: sparse, using: 'sparse', filter, limit: HYBRID_TOP },
  ];
  return [
    { prefetch, query: { fusion: 'rrf' as const }, ...one },
    { query: dense, using: 'dense', ...one },
    { query: sparse, using: 'sparse', ...one },
  ];
}

/** Filtered hybrid, dense and sparse queries through the client, each beside the same work done in loops. */
async function hybridSection(
  client: QdrantClient,
  data: Float32Array,
  unit: Float32Array,
  rnd: () => number,
) {
  const tenant = { org: newId('org'), ws: newId('workspace') };
  const { name, docs, payloads, df } = await seedHybrid(client, tenant, data, rnd);
  // The search service's filter (services/search/src/domain/search.ts) without metadata conditions.
  const filter = withTenant(tenant, { must: [{ key: 'live', match: { value: true } }] });
  const ok = (i: number) => {
    const p = payloads[i] as Payload;
    return p.org_id === tenant.org && p.workspace_id === tenant.ws && p.live === true;
  };
  const times = KINDS.map(() => ({ engine: [] as number[], loop: [] as number[], recall: 0 }));
  for (let q = 0; q < QUERIES; q++) {
    const dense = Float32Array.from({ length: DIM }, () => rnd() * 2 - 1);
    const unitQuery = normalised(dense, 1);
    const sparse = bag(rnd, 4, true);
    const bodies = requests(filter, [...dense], { indices: [...sparse.indices], values: [...sparse.values] });
    const denseLoop = () => bruteForce(unit, unitQuery, ok, HYBRID_TOP);
    const sparseLoop = () => sparseBrute(docs, sparse, df, ok);
    const ids = (hits: Hit[]) => hits.map((h) => h.id);
    const loops = [() => rrf([denseLoop(), sparseLoop()]), () => ids(denseLoop()), () => ids(sparseLoop())];
    for (const [k, slot] of times.entries()) {
      const t0 = performance.now();
      const res = await client.query(name, bodies[k] as (typeof bodies)[number]);
      slot.engine.push(performance.now() - t0);
      const t1 = performance.now();
      const expected = (loops[k] as () => number[])();
      slot.loop.push(performance.now() - t1);
      const got = new Set(res.points.map((p) => p.id));
      slot.recall += expected.filter((id) => got.has(id)).length / Math.max(1, expected.length) / QUERIES;
    }
  }
  console.log(
    `\nfiltered search: ${POINTS} points x ${DIM} dims (Cosine) + sparse (idf, ${VOCAB}-term Zipf vocabulary), ` +
      `org_id + workspace_id + live filter, collection and indexes made by libs/vector-store, top ${HYBRID_TOP}`,
  );
  for (const [k, slot] of times.entries()) latencyRows(KINDS[k] as string, slot.engine, slot.loop);
  const recalls = times.map((slot, k) => `${KINDS[k]} ${slot.recall.toFixed(3)}`);
  console.log(`recall@${HYBRID_TOP} against the loops: ${recalls.join(', ')}`);
  console.log(
    '(hybrid: dense and sparse prefetches with the filter, RRF; baseline: the same in plain loops)',
  );
}

/**
 * A snapshot (log compaction) of `unit`'s points with a 1 KB text payload each: the longest time the event loop
 * was held (the engine answers nothing meanwhile) beside the time the whole snapshot took.
 */
async function compactionSection(unit: Float32Array, tags: string[]): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'qdrant-local-bench-compaction-'));
  const engine = openEngine({ dataDir, compactBytes: 2 ** 40 });
  try {
    const config = parseCreateCollection({ vectors: { size: DIM, distance: 'Cosine' } });
    await engine.commit({ type: 'create_collection', name: 'snap', config });
    const text = 'river stone maple harbor lantern meadow copper falcon orchard glacier '.repeat(14);
    for (let start = 0; start < POINTS; start += BATCH) {
      const points = [];
      for (let i = start; i < Math.min(POINTS, start + BATCH); i++) {
        const dense = { '': unit.slice(i * DIM, (i + 1) * DIM) };
        points.push({ id: i, payload: { tenant: tags[i], chunk_index: i, text }, dense, sparse: {} });
      }
      await engine.commit({ type: 'upsert', collection: 'snap', opId: start, points });
    }
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 2);
    // Buffers (the encoded records among them) held beyond what was held before the snapshot.
    const heldBefore = process.memoryUsage().arrayBuffers;
    let peakHeld = heldBefore;
    const memoryTimer = setInterval(() => {
      peakHeld = Math.max(peakHeld, process.memoryUsage().arrayBuffers);
    }, 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t0 = performance.now();
    await engine.compact();
    const wholeMs = performance.now() - t0;
    clearInterval(timer);
    clearInterval(memoryTimer);
    const snapshotMb = dataBytes(dataDir) / 1e6;
    const addedMb = (peakHeld - heldBefore) / 1e6;
    console.log(
      `\nsnapshot of ${POINTS} points (${DIM}-d, 1 KB payload): longest event-loop pause ${longest.toFixed(0)} ms | ` +
        `whole snapshot ${wholeMs.toFixed(0)} ms | ratio ${(longest / wholeMs).toFixed(2)}`,
    );
    console.log(
      `snapshot memory: at most ${addedMb.toFixed(0)} MB of buffers added while writing a ${snapshotMb.toFixed(0)} MB data folder | ratio ${(addedMb / snapshotMb).toFixed(2)}`,
    );
    console.log(
      '(the engine serves and writes between the slices of a snapshot, each written as soon as it is encoded; the pause is the longest slice)',
    );
  } finally {
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export default async function run(): Promise<void> {
  const rnd = random(42);
  const data = new Float32Array(POINTS * DIM);
  for (let i = 0; i < data.length; i++) data[i] = rnd() * 2 - 1;
  const tags = Array.from({ length: POINTS }, (_, i) => `tenant-${i % VALUES}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'qdrant-local-bench-'));
  const server = await startQdrantLocal({ port: 0, dataDir });
  const client = new QdrantClient({ url: server.url, checkCompatibility: false });
  try {
    await client.createCollection('bench', { vectors: { size: DIM, distance: 'Cosine' } });
    await client.createPayloadIndex('bench', { field_name: 'tenant', field_schema: 'keyword', wait: true });

    let upsertMs = 0;
    for (let start = 0; start < POINTS; start += BATCH) {
      const points = [];
      for (let i = start; i < Math.min(POINTS, start + BATCH); i++) {
        points.push({
          id: i,
          vector: Array.from(data.subarray(i * DIM, (i + 1) * DIM)),
          payload: { tenant: tags[i] },
        });
      }
      const t0 = performance.now();
      await client.upsert('bench', { wait: true, points });
      upsertMs += performance.now() - t0;
    }
    // Baseline for writes: the same points copied into plain in-process arrays.
    const t0 = performance.now();
    const copy = new Float32Array(POINTS * DIM);
    const copyTags: string[] = [];
    for (let i = 0; i < POINTS; i++) {
      copy.set(data.subarray(i * DIM, (i + 1) * DIM), i * DIM);
      copyTags.push(tags[i] as string);
    }
    const copyMs = performance.now() - t0;

    const unit = normalised(data, POINTS);
    const engineMs: number[] = [];
    const loopMs: number[] = [];
    let agree = 0;
    for (let q = 0; q < QUERIES; q++) {
      const query = Float32Array.from({ length: DIM }, () => rnd() * 2 - 1);
      const tag = `tenant-${q % VALUES}`;
      const t1 = performance.now();
      const res = await client.query('bench', {
        query: Array.from(query),
        limit: TOP,
        filter: { must: [{ key: 'tenant', match: { value: tag } }] },
      });
      engineMs.push(performance.now() - t1);
      const unitQuery = normalised(query, 1);
      const t2 = performance.now();
      const expected = bruteForce(unit, unitQuery, (i) => copyTags[i] === tag).map((b) => b.id);
      loopMs.push(performance.now() - t2);
      const got = new Set(res.points.map((p) => p.id));
      agree += expected.filter((id) => got.has(id)).length / TOP;
    }

    const upsertRate = Math.round(POINTS / (upsertMs / 1000));
    const copyRate = Math.round(POINTS / (copyMs / 1000));
    console.log(
      `qdrant-local: ${POINTS} points x ${DIM} dims (Cosine), keyword filter over ${VALUES} values, ${QUERIES} queries, top ${TOP}`,
    );
    row('upsert', `${upsertRate} points/s`, `${copyRate} points/s`, upsertRate / copyRate);
    latencyRows('query', engineMs, loopMs);
    console.log(`recall@${TOP} against the brute-force loop: ${(agree / QUERIES).toFixed(3)}`);
    console.log(
      '(upsert: durable writes through the client, batches of 500; baseline: copy into plain arrays)',
    );
    console.log(
      '(query: through the client over HTTP; baseline: in-process loop over all points, same filter)',
    );
    await hybridSection(client, data, unit, rnd);
    await compactionSection(unit, tags);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
