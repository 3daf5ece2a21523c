import { Env, extendBase } from '@kb/config';
import { EmbeddingEnv } from '@kb/embeddings';
import { type Static, Type } from '@sinclair/typebox';

export const SearchEnv = extendBase({
  KB_QDRANT_URL: Env.qdrantUrl(),
  KB_QDRANT_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** Longest a search may spend on embedding and the engine before it answers 503. */
  KB_SEARCH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30_000, default: 3_000 }),
  ...EmbeddingEnv,
});

export type SearchConfig = Static<typeof SearchEnv>;
