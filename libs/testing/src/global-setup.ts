import type { TestProject } from 'vitest/node';
import { startInfra } from './infra.js';
import type { TestInfraContext } from './vitest-context.js';

type Kind = 'nats' | 'redis' | 'mongo';
const KINDS: readonly Kind[] = ['nats', 'redis', 'mongo'];
const URL_KEY: Record<Kind, keyof TestInfraContext> = {
  nats: 'natsUrl',
  redis: 'redisUrl',
  mongo: 'mongoUrl',
};

/** KB_TEST_INFRA, e.g. `nats,redis`: the servers to start (default all three). */
function parseWhich(value: string | undefined): Record<Kind, boolean> {
  if (value === undefined || value.trim() === '') return { nats: true, redis: true, mongo: true };
  const wanted = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = wanted.filter((w) => !KINDS.includes(w as Kind));
  if (unknown.length > 0)
    throw new Error(`KB_TEST_INFRA: unknown ${unknown.join(', ')} (use ${KINDS.join(',')})`);
  return { nats: wanted.includes('nats'), redis: wanted.includes('redis'), mongo: wanted.includes('mongo') };
}

/**
 * Vitest global setup: one set of servers per test run, in temporary folders on free ports, handed to tests
 * through `inject('natsUrl' | 'redisUrl' | 'mongoUrl')`. Use it from a package's vitest.config.ts with
 * `defineProject(import.meta.dirname, { globalSetup: ['../../libs/testing/src/global-setup.ts'] })`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const which = parseWhich(process.env.KB_TEST_INFRA);
  const infra = await startInfra({ which });
  for (const kind of KINDS) {
    if (which[kind]) project.provide(URL_KEY[kind], infra[URL_KEY[kind]]);
  }
  return () => infra.stop();
}
