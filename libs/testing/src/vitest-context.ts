// Loads vitest's types so the augmentation below merges into them (without it tsc cannot find the module).
import type {} from 'vitest';

/**
 * The values the harness's global setup (`src/global-setup.ts`) provides, typed for `inject()` in every
 * package that imports `@kb/testing`. A server left out through KB_TEST_INFRA provides nothing: its
 * `inject()` is then undefined.
 */
export interface TestInfraContext {
  natsUrl: string;
  redisUrl: string;
  /** `mongodb://127.0.0.1:<port>/`: append a database name. */
  mongoUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    redisUrl: string;
    mongoUrl: string;
  }
}
