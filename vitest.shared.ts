import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const HARNESS = fileURLToPath(new URL('./libs/testing/src/global-setup.ts', import.meta.url));

export interface ProjectOptions {
  /** Servers the package's integration tests need, started once per run by the harness. */
  infra?: ('nats' | 'redis' | 'mongo')[];
  testTimeout?: number;
}

/**
 * One vitest configuration for every workspace package: resolve the `source` export condition so tests run
 * against TypeScript sources without a build, and start private servers when the package needs them.
 */
export function defineProject(root: string, options: ProjectOptions = {}) {
  if (options.infra) process.env.KB_TEST_INFRA = options.infra.join(',');
  return defineConfig({
    root,
    resolve: { conditions: ['source', 'import', 'node', 'default'] },
    ssr: { resolve: { conditions: ['source', 'import', 'node', 'default'], externalConditions: ['source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      globalSetup: options.infra ? [HARNESS] : [],
      pool: 'forks',
      // Service packages gain their own tests with their features; the platform tests cover their start-up.
      passWithNoTests: true,
    },
  });
}
