import { runService } from '@kb/runtime';
import { GatewayEnv } from './config.js';
import { startGateway } from './server.js';

await runService({
  name: 'gateway',
  packageJson: new URL('../package.json', import.meta.url),
  env: GatewayEnv,
  // Its request spans are passed explicitly (plugins/tracing.ts): no promise pays for carrying a context.
  asyncContext: false,
  start: (deps) => startGateway(deps),
});
