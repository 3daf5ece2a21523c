import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TestProject } from 'vitest/node';
import { keepNewest } from '../src/child.js';
import setup from '../src/global-setup.js';
import { findBinary, startInfra, uniqueName } from '../src/index.js';
import { spawnNodeService } from '../src/service.js';

const fixture = fileURLToPath(new URL('./fixtures/fake-service.ts', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));

describe('findBinary', () => {
  it.each(['nats-server', 'redis-server', 'ferretdb'] as const)('finds %s', (name) => {
    const path = findBinary(name);
    expect(isAbsolute(path)).toBe(true);
    expect(existsSync(path)).toBe(true);
  });
});

describe('keepNewest', () => {
  it('keeps at least the newest lines, in order, and never more than twice as many', () => {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      keepNewest(lines, `line ${i}`, 100);
      expect(lines.length).toBeLessThanOrEqual(200);
      expect(lines.length).toBeGreaterThanOrEqual(Math.min(i + 1, 100));
    }
    const first = 10_000 - lines.length;
    expect(lines).toEqual(Array.from({ length: lines.length }, (_, k) => `line ${first + k}`));
  });
});

describe('uniqueName', () => {
  it('gives distinct names valid for databases, streams and keys', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('t')));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name).toMatch(/^t_[a-z0-9]+$/);
  });
});

describe('startInfra', () => {
  it('starts only the servers asked for and says so when another is read', async () => {
    const infra = await startInfra({ which: { nats: true, redis: false, mongo: false } });
    try {
      expect(infra.natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(() => infra.redisUrl).toThrow(/redis was not started/);
      expect(() => infra.mongo).toThrow(/mongo was not started/);
    } finally {
      await infra.stop();
    }
    expect(existsSync(infra.nats.dir)).toBe(false);
  });

  it('keeps data under a given folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kb-harness-'));
    try {
      const infra = await startInfra({ dir, which: { nats: false, redis: true, mongo: false } });
      expect(infra.redis.dir).toBe(join(dir, 'redis'));
      await infra.stop();
      expect(existsSync(join(dir, 'redis'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('spawnNodeService', () => {
  it('resolves on the ready line and stops on SIGTERM', async () => {
    const svc = await spawnNodeService('fake', fixture, here, { FAKE_GREETING: 'hi' });
    expect(svc.pid).toBeGreaterThan(0);
    const first = JSON.parse(svc.stdout[0] ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({ msg: 'starting', greeting: 'hi', logLevel: 'info' });
    expect(await svc.stop()).toEqual({ code: 0, signal: null });
    expect(svc.stdout.at(-1)).toContain('stopping');
  });

  it('rejects with the output when the process exits first', async () => {
    await expect(spawnNodeService('fake', fixture, here, { FAKE_MODE: 'crash' })).rejects.toThrow(
      /exited \(code 3[\s\S]*KB_SOMETHING is required/,
    );
  });

  // The wait has to outlast the fixture's own start (tsx compiling it), which takes seconds on a loaded machine,
  // so that the rejection can be checked to carry the output printed before it.
  it('rejects when ready never comes', { timeout: 30_000 }, async () => {
    await expect(
      spawnNodeService('fake', fixture, here, { FAKE_MODE: 'silent' }, { readyTimeoutMs: 8000 }),
    ).rejects.toThrow(/did not log \{"msg":"ready"\} within 8000 ms[\s\S]*starting/);
  });
});

describe('global setup', () => {
  const run = async (which: string | undefined) => {
    const provided: Record<string, string> = {};
    const project = {
      provide: (key: string, value: string) => (provided[key] = value),
    } as unknown as TestProject;
    const saved = process.env.KB_TEST_INFRA;
    if (which === undefined) delete process.env.KB_TEST_INFRA;
    else process.env.KB_TEST_INFRA = which;
    try {
      const teardown = await setup(project);
      return { provided, teardown };
    } finally {
      if (saved === undefined) delete process.env.KB_TEST_INFRA;
      else process.env.KB_TEST_INFRA = saved;
    }
  };

  it('provides the URLs of the servers KB_TEST_INFRA names', async () => {
    const { provided, teardown } = await run('redis, mongo');
    expect(Object.keys(provided).sort()).toEqual(['mongoUrl', 'redisUrl']);
    expect(provided.mongoUrl).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
    await teardown();
  });

  it('starts all three by default', async () => {
    const { provided, teardown } = await run(undefined);
    expect(Object.keys(provided).sort()).toEqual(['mongoUrl', 'natsUrl', 'redisUrl']);
    await teardown();
  });

  it('rejects an unknown server name', async () => {
    await expect(run('nats,postgres')).rejects.toThrow(/unknown postgres/);
  });
});
