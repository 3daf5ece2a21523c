import { AppError } from '@kb/errors';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type Static, Type } from '@sinclair/typebox';
import { createLocalEmbedder } from './local.js';
import { createOpenAiEmbedder } from './openai.js';
import { createThreadedLocalEmbedder } from './threads.js';
import type { DenseEmbedder } from './types.js';

/**
 * The embedding variables, to spread into a service's `extendBase({...EmbeddingEnv, ...})`. The dense
 * dimension is part of every collection: changing it needs new collections (a clear error says so).
 */
export const EmbeddingEnv = {
  KB_EMBEDDER: Type.Union([Type.Literal('local'), Type.Literal('openai')], { default: 'local' }),
  KB_EMBEDDING_DIMENSION: Type.Integer({ minimum: 8, maximum: 65_536, default: 384 }),
  /** OpenAI-compatible API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`. */
  KB_EMBEDDING_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  KB_EMBEDDING_MODEL: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  KB_EMBEDDING_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
};

const EmbeddingConfigSchema = Type.Object(EmbeddingEnv);
export type EmbeddingConfig = Static<typeof EmbeddingConfigSchema>;

/**
 * The configured dense embedder; `openai` needs KB_EMBEDDING_URL and KB_EMBEDDING_MODEL. `threads`: the
 * local embedder computes on that many worker threads (threads.ts) instead of the calling one (0, the
 * default: right for a query at a time).
 */
export function createEmbedder(config: EmbeddingConfig, options: { threads?: number } = {}): DenseEmbedder {
  return traced(createConfiguredEmbedder(config, options.threads ?? 0));
}

const tracer = trace.getTracer('@kb/embeddings');

/**
 * Each `embed` call as an `embed` span (provider, number of texts, dimension; never the texts), so a trace
 * shows embedding time whether the provider runs in process or over HTTP (its request is a child span).
 */
function traced(embedder: DenseEmbedder): DenseEmbedder {
  return {
    id: embedder.id,
    dimension: embedder.dimension,
    ...(embedder.close ? { close: () => embedder.close?.() ?? Promise.resolve() } : {}),
    embed: (texts, options) =>
      tracer.startActiveSpan(
        'embed',
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'kb.embedder': embedder.id,
            'kb.embedding.texts': texts.length,
            'kb.embedding.dimension': embedder.dimension,
          },
        },
        async (span) => {
          try {
            return await embedder.embed(texts, options);
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw error;
          } finally {
            span.end();
          }
        },
      ),
  };
}

function createConfiguredEmbedder(config: EmbeddingConfig, threads: number): DenseEmbedder {
  if (config.KB_EMBEDDER === 'local') {
    const dimension = config.KB_EMBEDDING_DIMENSION;
    return threads > 0
      ? createThreadedLocalEmbedder({ dimension, threads })
      : createLocalEmbedder({ dimension });
  }
  if (!config.KB_EMBEDDING_URL || !config.KB_EMBEDDING_MODEL) {
    throw new AppError('internal', 'KB_EMBEDDER=openai needs KB_EMBEDDING_URL and KB_EMBEDDING_MODEL');
  }
  return createOpenAiEmbedder({
    baseUrl: config.KB_EMBEDDING_URL,
    model: config.KB_EMBEDDING_MODEL,
    dimension: config.KB_EMBEDDING_DIMENSION,
    ...(config.KB_EMBEDDING_API_KEY ? { apiKey: config.KB_EMBEDDING_API_KEY } : {}),
  });
}
