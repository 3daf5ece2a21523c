import { busUsagePublisher, createUsageMeter } from '@kb/bus';
import { createEmbedder, createSparseEncoder } from '@kb/embeddings';
import { runService } from '@kb/runtime';
import { createQdrantClient } from '@kb/vector-store';
import { SearchEnv } from './config.js';
import { buildSearchService } from './service.js';

await runService({
  name: 'search',
  packageJson: new URL('../package.json', import.meta.url),
  env: SearchEnv,
  async start({ config, nc, log, verifier, signer, version, instance, shutdown }) {
    // Searches are counted per workspace and published once a second (as the gateway meters API calls), so
    // a busy workspace costs the usage service a few events a second, not one per search.
    const meter = createUsageMeter({
      metric: 'searches',
      publish: busUsagePublisher(nc, signer, 'search'),
      log,
    });
    const served = await buildSearchService({
      nc,
      log,
      verifier,
      version,
      instance,
      qdrant: createQdrantClient({
        url: config.KB_QDRANT_URL,
        ...(config.KB_QDRANT_API_KEY ? { apiKey: config.KB_QDRANT_API_KEY } : {}),
        timeoutMs: config.KB_SEARCH_TIMEOUT_MS,
      }),
      embedder: createEmbedder(config),
      sparse: createSparseEncoder(),
      timeoutMs: config.KB_SEARCH_TIMEOUT_MS,
      onSearched: (tenant) => meter.record(tenant.org, tenant.ws, tenant.plan, 1),
    });
    // The searches answered before the service stopped taking requests are published before NATS drains.
    shutdown.register('intake', 'nats-service', async () => {
      await served.stop();
      await meter.stop();
    });
  },
});
