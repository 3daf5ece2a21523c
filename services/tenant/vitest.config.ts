import { defineConfig, mergeConfig } from 'vitest/config';
import { defineProject } from '../../vitest.shared.ts';

// Files run one at a time: each serves the tenant endpoints in the shared NATS queue group, and a request
// must reach the instance (and database) of the file that sent it.
export default mergeConfig(
  defineProject(import.meta.dirname, { infra: ['nats', 'mongo'] }),
  defineConfig({ test: { fileParallelism: false } }),
);
