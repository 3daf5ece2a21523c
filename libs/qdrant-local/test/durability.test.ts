import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, describe, expect, it } from 'vitest';
import { startQdrantLocal } from '../src/index.js';
import { REMOTE_URL } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const PACKAGE_DIR = dirname(dirname(CLI));
const DIM = 16;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qdrant-local-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/** Starts the standalone CLI and waits for its "listening" line. */
async function startCli(dataDir: string, extra: string[] = []): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', CLI, '--port', '0', '--data', dataDir, ...extra],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${stderr}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('qdrant-local listening'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited with ${code}: ${stderr}`));
    });
  });
  return { child, url, stderr: () => stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function vectorFor(id: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.fround(Math.sin(id * 31 + i)));
}

describe.skipIf(REMOTE_URL !== undefined)('durability', () => {
  it('keeps every acknowledged point across kill -9 and restarts', { timeout: 60_000 }, async () => {
    const dataDir = tempDir();
    // A small compaction threshold makes snapshots happen while the server is being killed.
    const first = await startCli(dataDir, ['--compact-bytes', '150000']);
    const client = new QdrantClient({ url: first.url, checkCompatibility: false });
    await client.createCollection('durable', { vectors: { size: DIM, distance: 'Dot' } });

    const acked = new Set<number>();
    let nextId = 0;
    let stop = false;
    const writer = async () => {
      while (!stop) {
        const ids = Array.from({ length: 25 }, () => nextId++);
        try {
          await client.upsert('durable', {
            wait: true,
            points: ids.map((id) => ({
              id,
              vector: vectorFor(id),
              payload: { id, label: `p${id}`, tags: [id % 3] },
            })),
          });
          if (!stop) for (const id of ids) acked.add(id);
        } catch {
          return;
        }
      }
    };
    const writers = [writer(), writer(), writer(), writer()];
    while (acked.size < 3000) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    stop = true;
    await exited(first.child);
    await Promise.all(writers);
    expect(readdirSync(dataDir).some((f) => f.startsWith('snapshot-'))).toBe(true);

    const second = await startCli(dataDir);
    const reopened = new QdrantClient({ url: second.url, checkCompatibility: false });
    const ackedIds = [...acked];
    const found = new Map<number, { payload: unknown; vector: unknown }>();
    for (let i = 0; i < ackedIds.length; i += 500) {
      const page = await reopened.retrieve('durable', {
        ids: ackedIds.slice(i, i + 500),
        with_payload: true,
        with_vector: true,
      });
      for (const p of page) found.set(p.id as number, { payload: p.payload, vector: p.vector });
    }
    expect(found.size).toBe(acked.size);
    for (const id of ackedIds) {
      const point = found.get(id);
      expect(point?.payload).toEqual({ id, label: `p${id}`, tags: [id % 3] });
      // The server prints float32 values in their shortest form, as Qdrant does.
      expect(((point?.vector ?? []) as number[]).map(Math.fround)).toEqual(vectorFor(id));
    }
    const count = (await reopened.count('durable', { exact: true })).count;
    expect(count).toBeGreaterThanOrEqual(acked.size);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    expect(second.stderr()).toBe('');

    const third = await startCli(dataDir);
    const again = new QdrantClient({ url: third.url, checkCompatibility: false });
    expect((await again.count('durable', { exact: true })).count).toBe(count);
    third.child.kill('SIGTERM');
    expect(await exited(third.child)).toBe(0);
  });

  it('reloads cleanly after an in-process close on the same data folder', async () => {
    const dataDir = tempDir();
    const server = await startQdrantLocal({ port: 0, dataDir });
    const client = new QdrantClient({ url: server.url, checkCompatibility: false });
    await client.createCollection('c', {
      vectors: { v: { size: 2, distance: 'Cosine' } },
      sparse_vectors: { s: { modifier: 'idf' } },
    });
    await client.createPayloadIndex('c', { field_name: 'k', field_schema: 'keyword', wait: true });
    await client.upsert('c', {
      points: [
        { id: 1, vector: { v: [3, 4], s: { indices: [1], values: [2] } }, payload: { k: 'a' } },
        { id: 2, vector: { v: [1, 0] }, payload: { k: 'b' } },
      ],
    });
    await client.setPayload('c', { payload: { extra: true }, points: [2] });
    await client.delete('c', { wait: true, points: [1] });
    const before = await client.scroll('c', { with_vector: true });
    await server.close();

    const restarted = await startQdrantLocal({ port: 0, dataDir });
    const reopened = new QdrantClient({ url: restarted.url, checkCompatibility: false });
    expect(await reopened.scroll('c', { with_vector: true })).toEqual(before);
    expect((await reopened.getCollection('c')).payload_schema.k?.data_type).toBe('keyword');
    await restarted.close();
  });
});
