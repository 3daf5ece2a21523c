import { QdrantClient } from '@qdrant/js-client-rest';

export interface QdrantClientOptions {
  url: string;
  apiKey?: string;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

/** A client for real Qdrant or the local engine; the version check is skipped (the engine reports 1.18). */
export function createQdrantClient(options: QdrantClientOptions): QdrantClient {
  return new QdrantClient({
    url: options.url,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    timeout: options.timeoutMs ?? 30_000,
    checkCompatibility: false,
  });
}
