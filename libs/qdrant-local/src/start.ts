import type { AddressInfo } from 'node:net';
import { type EngineOptions, openEngine } from './engine.js';
import { createHttpServer } from './server.js';

export interface StartOptions {
  dataDir?: string;
  apiKey?: string;
  host?: string;
  port?: number;
}

export interface StartedServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Opens the engine on its data folder and serves it over HTTP; `tuning` carries internal knobs (compaction size). */
export async function startServer(
  options: StartOptions,
  tuning: Omit<EngineOptions, 'dataDir'> = {},
): Promise<StartedServer> {
  const engine = openEngine({ ...tuning, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  const server = createHttpServer({ engine, apiKey: options.apiKey });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 6333, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await engine.close();
      })();
      return closing;
    },
  };
}
