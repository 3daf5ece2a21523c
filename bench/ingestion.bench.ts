import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { eventSubject } from '@kb/contracts';
import { createLocalEmbedder, createSparseEncoder } from '@kb/embeddings';
import { newId } from '@kb/tenancy';
import { type ServiceProcess, spawnService, startInfra } from '@kb/testing';
import { type ChunkPayload, createQdrantClient, pointId } from '@kb/vector-store';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseDocument } from '../services/ingestion/src/parse/index.ts';
import { chunkText } from '../services/ingestion/src/pipeline/chunk.ts';
import { createVectorWriter } from '../services/ingestion/src/store/vectors.ts';
import { benchEnv, cpuOf, cpuPer, createTenant, gatewayApi, startEngine } from './support.ts';

/**
 * Ingestion, three figures:
 * 1. throughput: BENCH_DOCS documents (default 200, about 5 chunks each) uploaded through the gateway and
 *    ingested by the platform (gateway → object store → JetStream → fair queue → BullMQ worker → engine), in
 *    chunks/s from the first upload to the last `evt.document.ready`, divided by the chunks/s of a loop in
 *    this process that parses, chunks, embeds and upserts the same documents with the same embedder into the
 *    same engine (the mean of a pass before the platform's run and one after it); the platform's worker
 *    computes the same vectors on its embedding threads (KB_INGEST_EMBED_THREADS), the loop in this process.
 *    Target ≥ 0.8. The same again with BENCH_MEDIUM_DOCS documents (default 200) of about 20 chunks, the size
 *    of the time-to-searchable probe below, and with BENCH_LONG_DOCS documents (default 100) ten times as long
 *    as the first, about 55 chunks each: enough that the platform runs for several seconds, so the filling and
 *    draining of its pipeline (the first document's trip to the worker, the last one's events, a few hundred
 *    ms in all) is a small part of the time measured. With 20 long documents the run lasted under two seconds
 *    and those edges took the ratio down by about a third. Both sides are warmed up first, unmeasured, with as
 *    many other documents of the same size (BENCH_WARM_UP_DOCS to choose another number, 0 for none): the
 *    platform ingests them in a workspace of their own, the loop makes a pass over them. Throughput is a
 *    steady-state figure, and a cold platform is far from it: every service still compiles its hot paths while
 *    the first documents go through (V8's background compiler threads took an eighth of the ingestion worker's
 *    CPU in a cold run of the long documents, and kept compiling after 30 warm-up documents), which took the
 *    long documents' ratio down by 0.1 to 0.3. Beside each ratio, the CPU time per document of every process
 *    taking part, from /proc: the loop's (this process and the engine, one document at a time) and the
 *    platform's (every service, the servers, and this process uploading and listening for events), with the
 *    ratio a machine of this many cores could reach at most if the platform kept every core busy with that
 *    work.
 * 2. core scaling: the short documents again, BENCH_SCALING_ROUNDS times (default 2), each round with every
 *    process of both sides confined to one core (`taskset`) and then to all of them (the order alternating
 *    from round to round), a pass of the loop and a run of the platform each time. Printed: both sides'
 *    chunks/s and CPU per document on one core and on all, and how much each gains from the other cores.
 *    The loop works one document at a time and gains little (only its engine's and its own garbage collector's
 *    work overlap); the platform's services, servers and threads share the work out, so its ratio depends on
 *    the cores of the machine it is measured on.
 * 3. time-to-searchable: while organization A has BENCH_BACKLOG documents (default 1,000) queued, organization
 *    B uploads a 20-chunk document BENCH_PROBES times (default 10), one at a time; each is timed from its
 *    upload until a search in B's workspace returns it. p50 and p95 printed.
 */
const DOCS = Number(process.env.BENCH_DOCS ?? 200);
const MEDIUM_DOCS = Number(process.env.BENCH_MEDIUM_DOCS ?? 200);
const LONG_DOCS = Number(process.env.BENCH_LONG_DOCS ?? 100);
const WARM_UP_DOCS =
  process.env.BENCH_WARM_UP_DOCS === undefined ? null : Number(process.env.BENCH_WARM_UP_DOCS);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000);
const PROBES = Number(process.env.BENCH_PROBES ?? 10);
const SCALING_ROUNDS = Number(process.env.BENCH_SCALING_ROUNDS ?? 2);
const cores = availableParallelism();
const DIMENSION = 384;
const CHUNKING = { size: 1_000, overlap: 150 };
const WORDS =
  'river stone maple harbor lantern meadow copper falcon orchard glacier canyon ember tide kernel ledger'.split(
    ' ',
  );

/** About `chars` characters of sentences, distinct per seed. */
function text(seed: number, chars: number): string {
  const sentences: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const words = Array.from({ length: 9 }, (_, j) => WORDS[(seed * 13 + i * 7 + j * 3) % WORDS.length]);
    const sentence = `Entry ${seed}-${i} ${words.join(' ')}.`;
    sentences.push(sentence);
    length += sentence.length + 1;
  }
  return sentences.join(' ');
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default async function run(): Promise<void> {
  const infra = await startInfra();
  // The engine's log compaction snapshots every collection it holds: the more the bench has written, the more it
  // costs, and it lands on whichever side happens to be writing. With the default threshold (64 MiB; one run
  // writes about 160 MB) the engine spent 23–25 ms of CPU per long document in three runs of the platform's long
  // documents, against 8.6–13 in the loop's passes; with no compaction, 7.4 and 11.2. Production runs Qdrant,
  // which compacts otherwise; here the log may grow past what one run writes.
  const engine = await startEngine({ compactBytes: 2 ** 30 });
  const env = {
    ...benchEnv(infra, 'kb_bench_ingestion'),
    KB_QDRANT_URL: engine.url,
    KB_EMBEDDING_DIMENSION: String(DIMENSION),
    KB_RATE_LIMIT_OVERRIDE: 'enterprise=1000000',
  };
  const api = gatewayApi(`http://127.0.0.1:${env.KB_GATEWAY_PORT}`);
  let services: ServiceProcess[] = [];
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: infra.natsUrl });
    const serviceNames = ['tenant', 'ingestion', 'search', 'usage', 'gateway'] as const;
    services = await Promise.all(
      serviceNames.map((name) =>
        // Each service with its own database, as `npm start` and docker-compose run them.
        spawnService(name as 'tenant', { ...env, KB_MONGO_URL: `${env.KB_MONGO_URL}_${name}` }),
      ),
    );
    const workspace = (name: string) =>
      createTenant(api, env.KB_MASTER_KEY, name, ['documents:write', 'documents:read', 'search']);
    type Listing = { items: { id: string; status: string; chunks: number }[]; next_cursor: string | null };
    /** A call retried as a client would while the platform answers with one of `statuses` (503: busy). */
    const retried = async <T>(call: () => Promise<T>, statuses = /: (503|429) /): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call();
        } catch (error) {
          if (attempt >= 20 || !statuses.test(String(error))) throw error;
          await sleep(250 * attempt);
        }
      }
    };
    const statuses = async (key: string) => {
      const items: Listing['items'] = [];
      let cursor: string | null = null;
      do {
        const path = `/v1/documents?limit=100${cursor ? `&cursor=${cursor}` : ''}`;
        const page: Listing = await retried(() => api<Listing>('GET', path, key));
        items.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      return items;
    };
    /** One upload, retried as a client would while the platform answers 503 (busy), 429, or 409 (its earlier attempt still being recorded). */
    const upload = (key: string, content: string) =>
      retried(() => api<{ id: string }>('POST', '/v1/documents', key, { content }), /: (503|429|409) /);
    const uploadAll = async (key: string, contents: string[], parallel = 8) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < contents.length) await upload(key, contents[next++] as string);
        }),
      );
    };

    // 1. Throughput: the in-process loop (its own collections in the same engine), the platform, the loop again.
    const qdrant = createQdrantClient({ url: engine.url, timeoutMs: 60_000 });
    const vectors = createVectorWriter(qdrant, DIMENSION);
    const embedder = createLocalEmbedder({ dimension: DIMENSION });
    const sparse = createSparseEncoder();
    const loopPids = { 'this process': process.pid, engine: engine.pid };
    const platformPids = {
      ...Object.fromEntries(serviceNames.map((name, i) => [name, services[i]?.pid ?? -1])),
      engine: engine.pid,
      FerretDB: infra.mongo.pid,
      NATS: infra.nats.pid,
      Redis: infra.redis.pid,
      'this process': process.pid,
    };
    /** One pass of the in-process loop over the documents, into a collection of its own; chunks/s. */
    const inProcess = async (documents: string[]) => {
      const local = { org: newId('org'), ws: newId('workspace') };
      await vectors.prepare(local);
      let chunkCount = 0;
      const cpuBefore = cpuOf(loopPids);
      const loopStarted = performance.now();
      for (const content of documents) {
        const documentId = newId('document');
        const parsed = await parseDocument(Buffer.from(content), 'text/plain');
        const chunks = chunkText(parsed.text, CHUNKING);
        for (let start = 0; start < chunks.length; start += 64) {
          const texts = chunks.slice(start, start + 64);
          const dense = await embedder.embed(texts);
          await vectors.upsert(
            local,
            texts.map((chunk, offset) => {
              const payload: ChunkPayload = {
                org_id: local.org,
                workspace_id: local.ws,
                document_id: documentId,
                version: 1,
                chunk_index: start + offset,
                text: chunk,
                title: null,
                metadata: {},
                live: false,
              };
              return {
                id: pointId(documentId, 1, start + offset),
                dense: dense[offset] as number[],
                sparse: sparse.document(chunk),
                payload,
              };
            }),
          );
        }
        await vectors.activate(local, documentId, 1);
        chunkCount += chunks.length;
      }
      const seconds = (performance.now() - loopStarted) / 1_000;
      const cpu = cpuPer(cpuBefore, cpuOf(loopPids), documents.length);
      return {
        chunks: chunkCount,
        rate: chunkCount / seconds,
        msPerDoc: (seconds * 1_000) / documents.length,
        cpu,
      };
    };
    /**
     * Uploads `documents` into `target` and waits for each one's outcome, seen as a client integration sees
     * it: from the documents' events (polling the listing would load the platform it measures). Returns the
     * platform's CPU per document and when the first upload started and the last outcome arrived.
     */
    const ingestAll = async (target: { org: string; ws: string; key: string }, documents: string[]) => {
      const settled = new Set<string>();
      let lastSettled = 0;
      const events = ['document.ready', 'document.failed'].map((event) =>
        nc?.subscribe(eventSubject(target, event), {
          callback: (_error, msg) => {
            settled.add(msg.json<{ document_id: string }>().document_id);
            lastSettled = performance.now();
          },
        }),
      );
      const cpuBefore = cpuOf(platformPids);
      const started = performance.now();
      await uploadAll(target.key, documents);
      while (settled.size < documents.length) await sleep(20);
      const cpu = cpuPer(cpuBefore, cpuOf(platformPids), documents.length);
      for (const subscription of events) subscription?.unsubscribe();
      return { cpu, started, lastSettled };
    };
    /** The chunks of a workspace's documents, once its listing confirms all `count` of them `ready`. */
    const readyChunks = async (key: string, count: number) => {
      const items = await statuses(key);
      if (items.length !== count || items.some((item) => item.status !== 'ready'))
        throw new Error(
          `expected ${count} ready documents, the listing shows ${JSON.stringify(items.slice(0, 5))}…`,
        );
      return items.reduce((sum, item) => sum + item.chunks, 0);
    };
    /** The platform's chunks/s over `documents`, beside the loop's before and after it, both warmed up first. */
    const throughput = async (label: string, documents: string[], warmUp: string[]) => {
      if (warmUp.length > 0) {
        await ingestAll(await workspace(`warm-up-${label}`), warmUp);
        await inProcess(warmUp);
      }
      // Before and after the platform's run, so that noise on the machine falls on both sides alike.
      const before = await inProcess(documents);

      const bulk = await workspace(`bench-${label}`);
      // The listing then confirms every document and sums the chunks.
      const { cpu: platformCpu, started, lastSettled } = await ingestAll(bulk, documents);
      const platformChunks = await readyChunks(bulk.key, documents.length);
      const platformRate = platformChunks / ((lastSettled - started) / 1_000);
      const after = await inProcess(documents);
      const loopRate = (before.rate + after.rate) / 2;
      console.log(
        `\n## Ingestion throughput, ${label} (${documents.length} documents, ${before.chunks} chunks, ${DIMENSION}-d local embedder)`,
      );
      console.log(
        `in-process parse+chunk+embed+upsert ${loopRate.toFixed(1)} chunks/s (before ${before.rate.toFixed(1)}, after ${after.rate.toFixed(1)}) | end to end ${platformRate.toFixed(1)} chunks/s | ` +
          `ratio ${(platformRate / loopRate).toFixed(2)} (target ≥ 0.8)`,
      );
      const loopMs = (before.msPerDoc + after.msPerDoc) / 2;
      console.log(
        `CPU ms per document, in-process loop (${loopMs.toFixed(1)} ms per document; the pass after the platform's run): ${after.cpu.text}; total ${after.cpu.total.toFixed(1)}`,
      );
      console.log(
        `CPU ms per document, end to end: ${platformCpu.text}; total ${platformCpu.total.toFixed(1)}. ` +
          `With all ${cores} cores busy the platform would take at least ${(platformCpu.total / cores).toFixed(1)} ms per document: ` +
          `ratio at most ${(loopMs / (platformCpu.total / cores)).toFixed(2)} on this machine`,
      );
    };
    await throughput(
      'small-documents',
      Array.from({ length: DOCS }, (_, i) => text(i, 4_500)),
      Array.from({ length: WARM_UP_DOCS ?? DOCS }, (_, i) => text(300_000 + i, 4_500)),
    );
    // The same with longer documents: what the platform adds per document is spread over more chunks.
    await throughput(
      'medium-documents',
      Array.from({ length: MEDIUM_DOCS }, (_, i) => text(500_000 + i, 16_500)),
      Array.from({ length: WARM_UP_DOCS ?? MEDIUM_DOCS }, (_, i) => text(600_000 + i, 16_500)),
    );
    await throughput(
      'long-documents',
      Array.from({ length: LONG_DOCS }, (_, i) => text(50_000 + i, 45_000)),
      Array.from({ length: WARM_UP_DOCS ?? LONG_DOCS }, (_, i) => text(400_000 + i, 45_000)),
    );

    // 2. The short documents on one core and on all of them, alternating.
    /** Confines every thread of every process of both sides to CPUs `list` (`taskset -c` syntax). */
    const confine = (list: string) => {
      for (const pid of new Set(Object.values(platformPids)))
        execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', list, String(pid)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
    };
    const all = `0-${cores - 1}`;
    /** Why the core-scaling figure cannot be measured on this machine, or null when it can. */
    const scalingBlocker = (): string | null => {
      if (cores < 2) return 'this machine has one core';
      try {
        confine(all);
        return null;
      } catch (error) {
        return `taskset could not set the processes' cores: ${String(error).split('\n')[0]}`;
      }
    };
    const blocker = SCALING_ROUNDS > 0 ? scalingBlocker() : null;
    if (blocker) console.log(`\n## Core scaling: not measured (${blocker})`);
    else if (SCALING_ROUNDS > 0) {
      type Side = { chunks: number; seconds: number; cpu: number; docs: number };
      const sides = new Map<string, { loop: Side; platform: Side }>();
      const add = (side: Side, chunks: number, seconds: number, cpu: number, docs: number) => {
        side.chunks += chunks;
        side.seconds += seconds;
        side.cpu += cpu * docs;
        side.docs += docs;
      };
      try {
        for (let round = 0; round < SCALING_ROUNDS; round++) {
          const order = round % 2 === 0 ? ['0', all] : [all, '0'];
          for (const list of order) {
            confine(list);
            const documents = Array.from({ length: DOCS }, (_, i) =>
              text(700_000 + round * 10_000 + i, 4_500),
            );
            const loop = await inProcess(documents);
            const target = await workspace(`bench-cores-${round}-${list}`);
            const { cpu, started, lastSettled } = await ingestAll(target, documents);
            const chunks = await readyChunks(target.key, documents.length);
            const entry = sides.get(list) ?? {
              loop: { chunks: 0, seconds: 0, cpu: 0, docs: 0 },
              platform: { chunks: 0, seconds: 0, cpu: 0, docs: 0 },
            };
            sides.set(list, entry);
            add(entry.loop, loop.chunks, loop.chunks / loop.rate, loop.cpu.total, documents.length);
            add(entry.platform, chunks, (lastSettled - started) / 1_000, cpu.total, documents.length);
          }
        }
      } finally {
        confine(all);
      }
      const rate = (side: Side) => side.chunks / side.seconds;
      const describe = (label: string, entry: { loop: Side; platform: Side }) =>
        `${label}: loop ${rate(entry.loop).toFixed(1)} chunks/s (${(entry.loop.cpu / entry.loop.docs).toFixed(1)} ms CPU per document), ` +
        `end to end ${rate(entry.platform).toFixed(1)} chunks/s (${(entry.platform.cpu / entry.platform.docs).toFixed(1)} ms), ` +
        `ratio ${(rate(entry.platform) / rate(entry.loop)).toFixed(2)}`;
      const one = sides.get('0');
      const every = sides.get(all);
      if (one && every) {
        console.log(
          `\n## Core scaling: ${DOCS} short documents per run, ${SCALING_ROUNDS === 1 ? 'one round' : `${SCALING_ROUNDS} rounds`} of one core and all ${cores}, alternating`,
        );
        console.log(describe('one core', one));
        console.log(describe(`all ${cores} cores`, every));
        console.log(
          `from one core to ${cores}: the loop's chunks/s × ${(rate(every.loop) / rate(one.loop)).toFixed(2)}, ` +
            `the platform's × ${(rate(every.platform) / rate(one.platform)).toFixed(2)}`,
        );
      }
    }

    // 3. Time-to-searchable of B's 20-chunk document behind A's backlog.
    const a = await workspace('bench-backlog');
    const b = await workspace('bench-probe');
    await uploadAll(
      a.key,
      Array.from({ length: BACKLOG }, (_, i) => text(100_000 + i, 2_000)),
      16,
    );
    const latencies: number[] = [];
    for (let probe = 0; probe < PROBES; probe++) {
      const marker = `probe${probe}marker${randomBytes(3).toString('hex')}`;
      const content = `${marker} ${text(200_000 + probe, 16_500)}`;
      const probeStarted = performance.now();
      const created = await upload(b.key, content);
      for (;;) {
        const found = await api<{ results: { document_id: string }[] }>('POST', '/v1/search', b.key, {
          query: marker,
          top_k: 1,
        });
        if (found.results.some((hit) => hit.document_id === created.id)) break;
        await sleep(50);
      }
      latencies.push(performance.now() - probeStarted);
    }
    const backlogLeft = (await statuses(a.key)).filter((item) => item.status === 'queued').length;
    console.log(
      `\n## Time to searchable: a 20-chunk document while another organization has ${BACKLOG} queued`,
    );
    console.log(
      `p50 ${(percentile(latencies, 50) / 1_000).toFixed(2)} s | p95 ${(percentile(latencies, 95) / 1_000).toFixed(2)} s ` +
        `over ${PROBES} documents | the other organization still had ${backlogLeft} queued at the end`,
    );
  } finally {
    await nc?.close();
    await Promise.all(services.map((s) => s.stop(10_000)));
    await engine.stop();
    await infra.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
