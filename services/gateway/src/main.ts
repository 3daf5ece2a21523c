import { runService } from '@kb/runtime';
import { GatewayEnv } from './config.js';
import { startGateway } from './server.js';

await runService({
  name: 'gateway',
  packageJson: new URL('../package.json', import.meta.url),
  env: GatewayEnv,
  start: (deps) => startGateway(deps),
});
