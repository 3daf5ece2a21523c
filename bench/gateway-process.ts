import { runService } from '@kb/runtime';
import { GatewayEnv } from '../services/gateway/src/config.ts';
import { startGateway } from '../services/gateway/src/server.ts';

/**
 * The gateway exactly as its main.ts starts it, with API-call metering on, or off when BENCH_METERING=off,
 * so metering.bench.ts compares two processes that differ in nothing else. Not for production: metering is
 * how usage is billed.
 */
await runService({
  name: 'gateway',
  packageJson: new URL('../services/gateway/package.json', import.meta.url),
  env: GatewayEnv,
  asyncContext: false,
  start: (deps) => startGateway(deps, { metering: process.env.BENCH_METERING !== 'off' }),
});
