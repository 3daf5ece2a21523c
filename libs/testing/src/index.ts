export { type BinaryName, findBinary } from './binaries.js';
export { type Infra, type InfraOptions, startInfra } from './infra.js';
export { makePdf } from './pdf.js';
export type { ServerHandle, ServerOptions } from './server.js';
export { type RedisOptions, startFerret, startNats, startRedis } from './servers.js';
export {
  type ServiceName,
  type ServiceProcess,
  type SpawnServiceOptions,
  spawnService,
} from './service.js';
export { uniqueName } from './unique.js';
export type { TestInfraContext } from './vitest-context.js';
