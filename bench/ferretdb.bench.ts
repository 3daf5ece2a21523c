import { pathToFileURL } from 'node:url';
import { type ServerHandle, startFerret } from '@kb/testing';
import mongoose from 'mongoose';
import { cpuSeconds } from './support.ts';

/**
 * FerretDB (the MongoDB of tests and `npm start`) with SQLite's `synchronous` at `normal`, as the harness
 * starts it, against `full`: two servers side by side, the same work alternating between them. Each document
 * gets what the platform's records get: an insert, two reads by `_id`, a `findOneAndUpdate` and an
 * `updateOne` by `_id`, from 8 concurrent writers. Printed: FerretDB's CPU time per document (from /proc,
 * kernel time included: the log flushes) and the wall time per document, `normal` ÷ `full`.
 */
const DOCUMENTS = Number(process.env.BENCH_FERRET_DOCS ?? 800);
const ROUNDS = 3;
const WRITERS = 8;

type Doc = { _id: string; status: string; n: number; body: string };

export default async function run(): Promise<void> {
  const modes = ['full', 'normal'] as const;
  const servers: {
    mode: (typeof modes)[number];
    handle: ServerHandle;
    client: mongoose.mongo.MongoClient;
  }[] = [];
  try {
    for (const mode of modes) {
      const handle = await startFerret({ synchronous: mode });
      const client = await new mongoose.mongo.MongoClient(`${handle.url}kb_bench_ferret`).connect();
      servers.push({ mode, handle, client });
    }
    let next = 0;
    const round = async (server: (typeof servers)[number], documents: number) => {
      const docs = server.client.db().collection<Doc>('docs');
      const cpuBefore = cpuSeconds(server.handle.pid);
      const started = performance.now();
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          for (let i = 0; i < documents / WRITERS; i++) {
            const _id = `doc${next++}`;
            await docs.insertOne({ _id, status: 'queued', n: 0, body: 'x'.repeat(600) });
            await docs.findOne({ _id });
            await docs.findOne({ _id });
            await docs.findOneAndUpdate({ _id }, { $set: { status: 'ready', n: 1 } });
            await docs.updateOne({ _id }, { $set: { n: 2 } });
          }
        }),
      );
      return {
        cpuMs: ((cpuSeconds(server.handle.pid) - cpuBefore) * 1_000) / documents,
        wallMs: (performance.now() - started) / documents,
      };
    };
    // Warm-up, unmeasured; then the modes take turns, so noise on the machine falls on both alike.
    for (const server of servers) await round(server, DOCUMENTS / 4);
    const totals = new Map(modes.map((mode) => [mode, { cpuMs: 0, wallMs: 0 }]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const server of servers) {
        const result = await round(server, DOCUMENTS);
        const total = totals.get(server.mode) as { cpuMs: number; wallMs: number };
        total.cpuMs += result.cpuMs / ROUNDS;
        total.wallMs += result.wallMs / ROUNDS;
      }
    }
    const full = totals.get('full') as { cpuMs: number; wallMs: number };
    const normal = totals.get('normal') as { cpuMs: number; wallMs: number };
    console.log(
      `\n## FerretDB, SQLite synchronous=normal (the harness's) vs full (${ROUNDS} × ${DOCUMENTS} documents, 5 operations each)`,
    );
    console.log(
      `FerretDB CPU per document: normal ${normal.cpuMs.toFixed(2)} ms, full ${full.cpuMs.toFixed(2)} ms, ratio ${(normal.cpuMs / full.cpuMs).toFixed(2)} | ` +
        `wall per document: normal ${normal.wallMs.toFixed(2)} ms, full ${full.wallMs.toFixed(2)} ms, ratio ${(normal.wallMs / full.wallMs).toFixed(2)}`,
    );
  } finally {
    for (const server of servers) {
      await server.client.close();
      await server.handle.destroy();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
