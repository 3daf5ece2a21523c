import {
  createRequester,
  type NatsConnection,
  type RefusalRecorder,
  type RunningConsumer,
  type ServedService,
  serveOperations,
} from '@kb/bus';
import type { Logger } from '@kb/log';
import { statusHandler } from '@kb/runtime';
import type { ContextSigner, ContextVerifier } from '@kb/tenancy';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { createCounters } from './domain/counters.js';
import { createLimits, type OverridesLookup, tenantServiceOverrides } from './domain/limits.js';
import { createPruner } from './domain/prune.js';
import { createQuotas } from './domain/quotas.js';
import { createRecorder, type RecorderHooks } from './domain/recorder.js';
import type { HandlerDeps, UsageHandlers } from './handlers/deps.js';
import { type MeteringConsumerOptions, startMeteringConsumer } from './handlers/metering.js';
import { quotaHandlers } from './handlers/quotas.js';
import { reportHandlers } from './handlers/report.js';
import { createStores, type UsageStores } from './store/index.js';

export interface UsageDeps {
  nc: NatsConnection;
  mongo: Connection;
  redis: Redis;
  log: Logger;
  verifier: ContextVerifier;
  signer: ContextSigner;
  version: string;
  instance: string;
  onRefused?: RefusalRecorder;
  /** Workspace limit overrides; by default asked of the tenant service. */
  overrides?: OverridesLookup;
  /** Consumer settings (tests: a durable of their own, short ack wait, crash hooks). */
  consumer?: Pick<MeteringConsumerOptions, 'durable' | 'ackWaitMs' | 'backoffMs'> & { hooks?: RecorderHooks };
  now?: () => Date;
}

export interface UsageService {
  served: ServedService;
  consumer: RunningConsumer;
  stores: UsageStores;
  /** Stops taking requests and events (shutdown phase `intake`). */
  stop(): Promise<void>;
}

/** Builds the usage service (NATS endpoints and the metering consumer); `main.ts` wires the real dependencies. */
export async function buildUsageService(deps: UsageDeps): Promise<UsageService> {
  const now = deps.now ?? (() => new Date());
  const stores = await createStores(deps.mongo);
  const counters = createCounters(deps.redis, now);
  const overrides =
    deps.overrides ?? tenantServiceOverrides({ request: createRequester(deps.nc), signer: deps.signer });
  const quotas = createQuotas(counters, createLimits(overrides, deps.log), now);
  const handlerDeps: HandlerDeps = { stores, quotas, now };
  // Every catalog operation of the usage service, or this does not compile.
  const handlers: UsageHandlers = {
    'usage.status': statusHandler('usage', deps.version, deps.instance),
    ...reportHandlers(handlerDeps),
    ...quotaHandlers(handlerDeps),
  };
  const served = await serveOperations(deps.nc, {
    name: 'usage',
    version: deps.version,
    description: 'usage events, rollups and quotas',
    instance: deps.instance,
    verifier: deps.verifier,
    log: deps.log,
    ...(deps.onRefused ? { onRefused: deps.onRefused } : {}),
    handlers,
  });
  const { hooks, ...consumerOptions } = deps.consumer ?? {};
  const consumer = await startMeteringConsumer(deps.nc, {
    recorder: createRecorder(stores, counters, hooks),
    verifier: deps.verifier,
    log: deps.log,
    ...consumerOptions,
  });
  const pruner = createPruner(stores, deps.log);
  return {
    served,
    consumer,
    stores,
    async stop() {
      pruner.stop();
      await Promise.all([served.stop(), consumer.stop()]);
    },
  };
}
