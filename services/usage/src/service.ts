import {
  type Caller,
  createPublisher,
  createRequester,
  type NatsConnection,
  type RefusalRecorder,
  type RunningConsumer,
  type ServedService,
  serveOperations,
} from '@kb/bus';
import { QuotaWarning, quotaWarningSubject } from '@kb/contracts';
import type { Logger } from '@kb/log';
import { statusHandler } from '@kb/runtime';
import { type ContextSigner, type ContextVerifier, ORG_LEVEL, type TenantContext } from '@kb/tenancy';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { createActivity } from './domain/activity.js';
import { createCounters } from './domain/counters.js';
import { createGate } from './domain/gate.js';
import {
  createLimits,
  type OverridesLookup,
  type PlanLookup,
  tenantServiceOverrides,
  tenantServicePlans,
} from './domain/limits.js';
import { createPruner } from './domain/prune.js';
import { createQuotas } from './domain/quotas.js';
import { createCounterRebuild } from './domain/rebuild.js';
import { createRecorder, type RecorderHooks } from './domain/recorder.js';
import { createQuotaWarnings, type PublishWarning } from './domain/warnings.js';
import { activityHandlers, startActivityConsumers } from './handlers/activity.js';
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
  /** Organizations' plans (for quota warnings); by default asked of the tenant service. */
  plans?: PlanLookup;
  /**
   * Consumer settings (tests: durables of their own, short ack wait, crash hooks). `activityPrefix` prefixes
   * the activity consumers' durable names; `ackWaitMs` applies to the activity consumers too.
   */
  consumer?: Pick<MeteringConsumerOptions, 'durable' | 'ackWaitMs' | 'backoffMs'> & {
    hooks?: RecorderHooks;
    activityPrefix?: string;
  };
  /** How often to look for counters Redis has lost (default 5 s; a reconnection also looks at once). */
  counterCheckMs?: number;
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
  const request = createRequester(deps.nc);
  const gate = createGate();
  const rebuild = createCounterRebuild({
    stores,
    redis: deps.redis,
    gate,
    log: deps.log,
    now,
    ...(deps.counterCheckMs ? { checkMs: deps.counterCheckMs } : {}),
  });
  // Counting starts from complete counters: rebuilt first if Redis lost them while the service was away.
  await rebuild.ensure();
  const counters = createCounters(deps.redis, { now, whenMissing: rebuild.ensure });
  const overrides = deps.overrides ?? tenantServiceOverrides({ request, signer: deps.signer });
  const quotas = createQuotas(counters, createLimits(overrides, deps.log), now);
  const activity = createActivity(stores, deps.log);
  const handlerDeps: HandlerDeps = { stores, quotas, activity, now };
  // Every catalog operation of the usage service, or this does not compile.
  const handlers: UsageHandlers = {
    'usage.status': statusHandler('usage', deps.version, deps.instance),
    ...reportHandlers(handlerDeps),
    ...quotaHandlers(handlerDeps),
    ...activityHandlers(handlerDeps),
  };
  const served = await serveOperations(deps.nc, {
    name: 'usage',
    version: deps.version,
    description: 'usage events, rollups, quotas and activity',
    instance: deps.instance,
    verifier: deps.verifier,
    log: deps.log,
    ...(deps.onRefused ? { onRefused: deps.onRefused } : {}),
    handlers,
  });
  const { hooks, activityPrefix, ...consumerOptions } = deps.consumer ?? {};
  const warnings = createQuotaWarnings({
    stores,
    quotas,
    planOf: deps.plans ?? tenantServicePlans({ request, signer: deps.signer }),
    publish: warningPublisher(deps.nc, deps.signer),
    log: deps.log,
    now,
  });
  const consumers = [
    await startMeteringConsumer(deps.nc, {
      recorder: createRecorder(stores, counters, gate, hooks ? { hooks } : {}),
      activity,
      warnings,
      verifier: deps.verifier,
      log: deps.log,
      ...consumerOptions,
    }),
    ...(await startActivityConsumers(deps.nc, {
      activity,
      verifier: deps.verifier,
      log: deps.log,
      ...(activityPrefix ? { durablePrefix: activityPrefix } : {}),
      ...(consumerOptions.ackWaitMs ? { ackWaitMs: consumerOptions.ackWaitMs } : {}),
    })),
  ];
  const pruner = createPruner(stores, activity, deps.log);
  return {
    served,
    consumer: consumers[0] as RunningConsumer,
    stores,
    async stop() {
      pruner.stop();
      rebuild.stop();
      await Promise.all([served.stop(), ...consumers.map((consumer) => consumer.stop())]);
    },
  };
}

/** Quota warnings on `kb.<org>.<ws|_>.evt.quota.warning`, signed by the usage service for that tenant. */
function warningPublisher(nc: NatsConnection, signer: ContextSigner): PublishWarning {
  const publisher = createPublisher(nc);
  return async (warning) => {
    const context: TenantContext = {
      org: warning.org_id,
      ws: warning.workspace_id ?? ORG_LEVEL,
      kid: 'usage',
      scopes: ['system'],
      plan: warning.plan,
      rid: warning.event_id,
    };
    const caller: Caller = { context, token: signer.sign(context) };
    const subject = quotaWarningSubject({ org: warning.org_id, ws: warning.workspace_id });
    await publisher.publish(subject, QuotaWarning, warning, caller, warning.event_id);
  };
}
