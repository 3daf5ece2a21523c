import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startQdrantLocal } from '@kb/qdrant-local';
import { QdrantClient } from '@qdrant/js-client-rest';

/**
 * qdrant-local against a plain brute-force loop over the same Float32 data in the same process:
 * upsert throughput through @qdrant/js-client-rest (durable, wait=true, keyword index maintained) and filtered
 * query latency (keyword match, top 10, Cosine). BENCH_POINTS and BENCH_QUERIES scale the run down.
 */
const POINTS = Number(process.env.BENCH_POINTS ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const DIM = 384;
const VALUES = 100;
const BATCH = 500;
const TOP = 10;

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

/** The baseline: every point, filter check, dot product on unit vectors, keep the best TOP. */
function bruteForce(unit: Float32Array, tags: string[], query: Float32Array, tag: string): number[] {
  const best: { id: number; score: number }[] = [];
  for (let i = 0; i < tags.length; i++) {
    if (tags[i] !== tag) continue;
    let score = 0;
    const base = i * DIM;
    for (let d = 0; d < DIM; d++) score += (query[d] as number) * (unit[base + d] as number);
    if (best.length < TOP || score > (best[best.length - 1] as { score: number }).score) {
      best.push({ id: i, score });
      best.sort((a, b) => b.score - a.score);
      if (best.length > TOP) best.pop();
    }
  }
  return best.map((b) => b.id);
}

function row(label: string, value: string, baseline: string, ratio: number): void {
  console.log(
    `${label.padEnd(12)} ${value.padStart(16)}   baseline ${baseline.padStart(16)}   ratio ${ratio.toFixed(3)}`,
  );
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
      const expected = bruteForce(unit, copyTags, unitQuery, tag);
      loopMs.push(performance.now() - t2);
      const got = new Set(res.points.map((p) => p.id));
      agree += expected.filter((id) => got.has(id)).length / TOP;
    }
    engineMs.sort((a, b) => a - b);
    loopMs.sort((a, b) => a - b);

    const upsertRate = POINTS / (upsertMs / 1000);
    const copyRate = POINTS / (copyMs / 1000);
    console.log(
      `qdrant-local: ${POINTS} points x ${DIM} dims (Cosine), keyword filter over ${VALUES} values, ${QUERIES} queries, top ${TOP}`,
    );
    row(
      'upsert',
      `${Math.round(upsertRate)} points/s`,
      `${Math.round(copyRate)} points/s`,
      upsertRate / copyRate,
    );
    for (const p of [50, 99]) {
      const e = percentile(engineMs, p);
      const b = percentile(loopMs, p);
      row(`query p${p}`, `${e.toFixed(2)} ms`, `${b.toFixed(2)} ms`, e / b);
    }
    console.log(`recall@${TOP} against the brute-force loop: ${(agree / QUERIES).toFixed(3)}`);
    console.log(
      '(upsert: durable writes through the client, batches of 500; baseline: copy into plain arrays)',
    );
    console.log(
      '(query: through the client over HTTP; baseline: in-process loop over all points with the same filter)',
    );
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
