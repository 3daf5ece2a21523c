import { startServer } from './start.js';

export { QDRANT_COMPAT_VERSION } from './routes.js';

export interface QdrantLocalOptions {
  /** Folder for the write-ahead log and snapshots; without it everything stays in memory. */
  dataDir?: string;
  /** When set, requests must carry it in the `api-key` header (or `Authorization: Bearer`), as with Qdrant. */
  apiKey?: string;
  host?: string;
  /** 0 picks a free port; default 6333. */
  port?: number;
}

export interface QdrantLocalServer {
  url: string;
  port: number;
  /** Stops accepting requests, flushes the log and releases the data folder. */
  close(): Promise<void>;
}

/** Starts the Qdrant-compatible engine and its REST server in this process. */
export async function startQdrantLocal(options: QdrantLocalOptions = {}): Promise<QdrantLocalServer> {
  return startServer(options);
}
