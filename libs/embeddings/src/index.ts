export { createEmbedder, type EmbeddingConfig, EmbeddingEnv } from './config.js';
export { hash32 } from './hash.js';
export { createLocalEmbedder } from './local.js';
export { createOpenAiEmbedder, type OpenAiEmbedderOptions } from './openai.js';
export { createSparseEncoder } from './sparse.js';
export { createThreadedLocalEmbedder } from './threads.js';
export { tokenize } from './tokenize.js';
export type { DenseEmbedder, SparseEncoder, SparseVector } from './types.js';
