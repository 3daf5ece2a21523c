import { AppError, unavailable } from '@kb/errors';
import pRetry, { AbortError } from 'p-retry';
import type { DenseEmbedder } from './types.js';

export interface OpenAiEmbedderOptions {
  /** The API root, e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama), a vLLM or TEI URL. */
  baseUrl: string;
  model: string;
  /** The dimension the model returns; every answer is checked against it. */
  dimension: number;
  apiKey?: string;
  /** Texts per request (default 64). */
  batchSize?: number;
  /** Per request, including reading the answer (default 30 s). */
  timeoutMs?: number;
  /** Further attempts after a transient failure: network error, timeout, 408, 409, 429, 5xx (default 3). */
  retries?: number;
}

/** Status codes after which the same request may succeed. */
const TRANSIENT = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
/** Status codes that say the input itself is refused: retrying cannot help. */
const INPUT_REFUSED = new Set([400, 413, 422]);
const MAX_RETRY_AFTER_MS = 30_000;

interface EmbeddingAnswer {
  data: { embedding: number[]; index: number }[];
}

/**
 * An embedder for any server speaking OpenAI's `POST /embeddings` (OpenAI, Azure-compatible proxies, Ollama,
 * vLLM, Hugging Face TEI, LM Studio): batches of `batchSize`, a timeout per request, exponential-backoff
 * retries on transient failures (honouring `Retry-After`), and answers checked for count and dimension.
 * Errors are AppErrors: `service-unavailable`/`timeout` (retryable) when the provider is unreachable or
 * keeps failing, `invalid-request` when it refuses the input, `internal` when it answers nonsense.
 */
export function createOpenAiEmbedder(options: OpenAiEmbedderOptions): DenseEmbedder {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;
  const batchSize = Math.max(1, options.batchSize ?? 64);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retries = options.retries ?? 3;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  async function requestOnce(input: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: options.model, input, encoding_format: 'float' }),
        signal: combined,
      });
      body = await response.text();
    } catch (error) {
      if (signal?.aborted) throw new AbortError(asError(signal.reason, 'embedding aborted'));
      if (timeout.aborted) {
        throw new AppError('timeout', `embedding provider did not answer within ${timeoutMs} ms`, {
          retryAfter: 1,
          cause: error,
        });
      }
      throw unavailable(`embedding provider unreachable: ${describe(error)}`, 1, error);
    }
    if (!response.ok) throw statusError(response, body);
    return parseAnswer(body, input.length, options.dimension);
  }

  async function embedBatch(input: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    return pRetry(() => requestOnce(input, signal), {
      retries,
      minTimeout: 250,
      factor: 2,
      maxTimeout: 8_000,
      randomize: true,
      ...(signal ? { signal } : {}),
      shouldRetry: ({ error }) => error instanceof AppError && error.retryable,
      onFailedAttempt: async ({ error, retriesLeft }) => {
        const wait = requestedDelayMs.get(error) ?? 0;
        if (retriesLeft > 0 && wait > 0) await sleep(Math.min(wait, MAX_RETRY_AFTER_MS), signal);
      },
    });
  }

  return {
    id: `openai:${options.model}`,
    dimension: options.dimension,
    async embed(texts, embedOptions = {}) {
      const vectors: number[][] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        // Providers refuse empty strings; a blank text embeds as a single space.
        const batch = texts.slice(start, start + batchSize).map((text) => (text.trim() === '' ? ' ' : text));
        vectors.push(...(await embedBatch(batch, embedOptions.signal)));
      }
      return vectors;
    },
  };
}

/** Delays a provider asked for with `Retry-After`, waited before the next attempt (on top of the backoff). */
const requestedDelayMs = new WeakMap<Error, number>();

function statusError(response: Response, body: string): AppError {
  const detail = `embedding provider answered ${response.status}: ${providerMessage(body)}`;
  if (INPUT_REFUSED.has(response.status)) return new AppError('invalid-request', detail);
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  // 401, 403, 404 are treated like outages: the provider is misconfigured (key, model, URL), an operator can
  // fix it, and later attempts may succeed; the document is not to blame.
  const error = unavailable(detail, retryAfter ?? (TRANSIENT.has(response.status) ? 1 : 5));
  if (retryAfter !== undefined) requestedDelayMs.set(error, retryAfter * 1000);
  return error;
}

function parseAnswer(body: string, expected: number, dimension: number): number[][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AppError('internal', 'embedding provider answered with something that is not JSON');
  }
  const data = (parsed as Partial<EmbeddingAnswer> | null)?.data;
  if (!Array.isArray(data) || data.length !== expected) {
    throw new AppError(
      'internal',
      `embedding provider returned ${Array.isArray(data) ? data.length : 'no'} embeddings for ${expected} inputs`,
    );
  }
  const vectors = new Array<number[]>(expected);
  data.forEach((item, position) => {
    const index = typeof item?.index === 'number' ? item.index : position;
    const embedding = item?.embedding;
    if (!Array.isArray(embedding) || !embedding.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new AppError(
        'internal',
        'embedding provider returned an embedding that is not a list of numbers',
      );
    }
    if (embedding.length !== dimension) {
      throw new AppError(
        'internal',
        `embedding model returned ${embedding.length} dimensions but KB_EMBEDDING_DIMENSION is ${dimension}`,
      );
    }
    if (index < 0 || index >= expected || vectors[index] !== undefined) {
      throw new AppError('internal', 'embedding provider returned embeddings with invalid indexes');
    }
    vectors[index] = embedding;
  });
  return vectors;
}

function providerMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message =
      typeof parsed.error === 'string'
        ? parsed.error
        : typeof parsed.error?.message === 'string'
          ? parsed.error.message
          : typeof parsed.message === 'string'
            ? parsed.message
            : body;
    return message.slice(0, 300);
  } catch {
    return body.slice(0, 300) || '(empty answer)';
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

function asError(value: unknown, fallback: string): Error {
  return value instanceof Error ? value : new Error(fallback);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
