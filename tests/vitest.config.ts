import { defineConfig, mergeConfig } from 'vitest/config';
import { defineProject } from '../vitest.shared.ts';

export default mergeConfig(
  defineProject(import.meta.dirname, { infra: ['nats', 'redis', 'mongo'], testTimeout: 60_000 }),
  defineConfig({ test: { include: ['platform/**/*.test.ts'], fileParallelism: false } }),
);
