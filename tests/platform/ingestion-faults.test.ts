import { type ServerHandle, type ServiceProcess, spawnService, startNats, startRedis } from '@kb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocumentsPlatform,
  type DocumentView,
  listAll,
  pointCount,
  startDocumentsPlatform,
} from './documents.helpers.ts';
import { createOrg, createWorkspace, type WorkspaceFixture } from './tenants.ts';

/*
 * Faults during ingestion, each against the platform running as separate processes: the ingestion worker
 * killed with SIGKILL, nats-server restarted, redis-server restarted. This file runs its own nats-server and
 * redis-server (the harness's are shared with other files), and the ingestion service as two processes: the
 * API and JetStream consumer in one, the pipeline worker in another (the one killed).
 */

let nats: ServerHandle;
let redis: ServerHandle;
let dp: DocumentsPlatform;
let worker: ServiceProcess;
let workerEnv: Record<string, string>;

/** Bound (ms) within which every accepted document is ready or failed after a broker restart (README). */
const SETTLE_BOUND_MS = 240_000;

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  dp = await startDocumentsPlatform({
    KB_NATS_URL: nats.url,
    KB_REDIS_URL: redis.url,
    KB_INGEST_ROLES: 'api,consumer',
    KB_REQUEST_TIMEOUT_MS: '3000',
    // Retries spread over about four minutes, and work re-queued only after 20 s without progress, so a
    // slow machine is not mistaken for a failure.
    KB_INGEST_BACKOFF_MS: '1000',
    KB_INGEST_STALE_MS: '20000',
    KB_INGEST_SWEEP_MS: '2000',
  });
  workerEnv = { ...dp.platform.envOf('ingestion'), KB_INGEST_ROLES: 'worker', KB_INGEST_CONCURRENCY: '4' };
  worker = await spawnService('ingestion', workerEnv);
});

afterAll(async () => {
  await worker?.stop(5_000);
  await dp?.stop();
  await Promise.all([nats?.destroy(), redis?.destroy()]);
});

const WORDS = 'river stone maple harbor lantern meadow copper falcon orchard glacier canyon ember'.split(' ');

/** A document of about `chars` characters (so about chars/850 chunks with the default chunking). */
function documentText(seed: number, chars: number): string {
  const sentences: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const words = Array.from({ length: 8 }, (_, j) => WORDS[(seed * 7 + i * 3 + j * 5) % WORDS.length]);
    const sentence = `Document ${seed} sentence ${i} ${words.join(' ')}.`;
    sentences.push(sentence);
    length += sentence.length + 1;
  }
  return sentences.join(' ');
}

/** Uploads `count` documents, `parallel` at a time, retrying refused ones (503 while a broker restarts). */
async function uploadMany(
  ws: WorkspaceFixture,
  count: number,
  chars: number,
  parallel = 12,
): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const i = next++;
      for (;;) {
        const answer = await ws
          .as<DocumentView>(
            'POST',
            '/v1/documents',
            { content: documentText(i, chars) },
            { 'idempotency-key': `doc-${i}` },
          )
          .catch(() => null);
        if (answer && (answer.status === 202 || answer.status === 200)) {
          ids[i] = answer.body.id;
          break;
        }
        expect([503, 429, 409, undefined]).toContain(answer?.status);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, lane));
  return ids;
}

/** Waits until every document of the workspace is ready or failed; returns them. */
async function allSettled(
  ws: WorkspaceFixture,
  expected: number,
  timeoutMs: number,
): Promise<DocumentView[]> {
  const started = Date.now();
  for (;;) {
    const docs = await listAll(ws).catch(() => [] as DocumentView[]);
    if (docs.length === expected && docs.every((doc) => doc.status === 'ready' || doc.status === 'failed'))
      return docs;
    if (Date.now() - started > timeoutMs) {
      const counts: Record<string, number> = {};
      for (const doc of docs) counts[doc.status] = (counts[doc.status] ?? 0) + 1;
      const reasons = [...new Set(docs.filter((doc) => doc.error).map((doc) => doc.error))].slice(0, 5);
      throw new Error(
        `not settled within ${timeoutMs} ms: ${docs.length}/${expected} ${JSON.stringify(counts)} ${JSON.stringify(reasons)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

async function expectConsistent(ws: WorkspaceFixture, docs: DocumentView[]): Promise<void> {
  const chunks = docs.reduce((sum, doc) => sum + doc.chunks, 0);
  expect(chunks).toBeGreaterThan(0);
  expect(await pointCount(dp.vectors, ws)).toBe(chunks);
}

describe('ingestion under faults', () => {
  it('loses nothing and duplicates nothing when the worker is killed with SIGKILL three times', async () => {
    const org = await createOrg(dp.platform, 'Faults kill', 'enterprise');
    const ws = await createWorkspace(dp.platform, org, 'kill');
    const uploads = uploadMany(ws, 500, 2_000);
    for (let kill = 0; kill < 3; kill++) {
      // Let the worker get going, then crash it mid-job and start a new one.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      worker.kill('SIGKILL');
      await worker.exited;
      worker = await spawnService('ingestion', workerEnv);
    }
    const ids = await uploads;
    expect(new Set(ids).size).toBe(500);
    const docs = await allSettled(ws, 500, 900_000);
    expect(docs.filter((doc) => doc.status !== 'ready').map((doc) => doc.error)).toEqual([]);
    await expectConsistent(ws, docs);
  }, 1_200_000);

  for (const broker of ['nats', 'redis'] as const) {
    it(`loses no accepted document when ${broker}-server restarts mid-ingestion`, async () => {
      const org = await createOrg(dp.platform, `Faults ${broker}`, 'enterprise');
      const ws = await createWorkspace(dp.platform, org, broker);
      const uploads = uploadMany(ws, 80, 1_500, 6);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const server = broker === 'nats' ? nats : redis;
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await server.start();
      const restartedAt = Date.now();
      await uploads;
      const docs = await allSettled(ws, 80, SETTLE_BOUND_MS);
      expect(Date.now() - restartedAt).toBeLessThan(SETTLE_BOUND_MS);
      for (const doc of docs) if (doc.status === 'failed') expect(doc.error).toBeTruthy();
      expect(docs.filter((doc) => doc.status === 'ready').length).toBeGreaterThan(0);
      await expectConsistent(
        ws,
        docs.filter((doc) => doc.status === 'ready'),
      );
    }, 420_000);
  }
});
