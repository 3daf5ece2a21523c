import {
  type Caller,
  connectNats,
  createPublisher,
  createRequester,
  ensureStreams,
  type NatsConnection,
  type Requester,
} from '@kb/bus';
import {
  DEFAULT_WORKSPACE_SETTINGS,
  meteringSubject,
  type Organization,
  type PlanLimits,
  type PlanName,
  STREAMS,
  tenantWildcard,
  UsageEvent,
  type UsageMetric,
  type Workspace,
} from '@kb/contracts';
import { createLogger } from '@kb/log';
import { closeRedis, connectRedis } from '@kb/store';
import {
  createContextSigner,
  createContextVerifier,
  newId,
  ORG_LEVEL,
  type Scope,
  type SignedContext,
  type TenantContext,
} from '@kb/tenancy';
import { uniqueName } from '@kb/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { inject } from 'vitest';
import type { RecorderHooks } from '../src/domain/recorder.js';
import { buildUsageService, type UsageService } from '../src/service.js';

export const CONTEXT_SECRET = 'usage-test-context-secret-'.padEnd(48, 'x');
export const signer = createContextSigner(CONTEXT_SECRET);
export const verifier = createContextVerifier(CONTEXT_SECRET);
export const log = createLogger({ service: 'usage-test', version: '0', level: 'silent' });

export interface Harness {
  nc: NatsConnection;
  mongo: Connection;
  redis: Redis;
  service: UsageService;
  request: Requester;
  /** Limit overrides the fake tenant service answers with, by workspace id. */
  overrides: Map<string, Partial<PlanLimits>>;
  /** Plans the fake tenant service answers with, by organization id (default free). */
  plans: Map<string, PlanName>;
  /** Contexts the fake tenant service was asked with. */
  tenantCalls: SignedContext[];
  durable: string;
  publish(event: UsageEvent, msgId?: string): Promise<{ duplicate: boolean }>;
  /** Waits until the consumers have nothing left to deliver or to be acknowledged. */
  settled(timeoutMs?: number): Promise<void>;
  /** Stops the service; `keepData` leaves the database for another instance. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface StartOptions {
  database?: string;
  durable?: string;
  ackWaitMs?: number;
  hooks?: RecorderHooks;
  /** Empties the usage stream first, so a new consumer does not replay earlier files' events (default true). */
  purge?: boolean;
  /** Redis of the test's own (default: the harness's). */
  redisUrl?: string;
  counterCheckMs?: number;
}

/** The usage service in-process on the harness's NATS, Redis and a database of its own (or `database`). */
export async function startUsage(options: StartOptions = {}): Promise<Harness> {
  const nc = await connectNats(inject('natsUrl'), uniqueName('usage-test'), log);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, [STREAMS.usage, STREAMS.ingest, STREAMS.events, STREAMS.deadLetter]);
  if (options.purge ?? true) await jsm.streams.purge(STREAMS.usage.name);
  const durable = options.durable ?? uniqueName('metering').replaceAll('_', '-');
  const database = options.database ?? uniqueName('usage');
  const mongo = await mongoose.createConnection(`${inject('mongoUrl')}${database}`).asPromise();
  const redis = await connectRedis(options.redisUrl ?? inject('redisUrl'), log);
  const overrides = new Map<string, Partial<PlanLimits>>();
  const plans = new Map<string, PlanName>();
  const tenantCalls: SignedContext[] = [];
  // A stand-in for the tenant service's `tenant.workspace.get`, answering each workspace's overrides.
  const fakeTenant = nc.subscribe(tenantWildcard('tenant.workspace.get'), {
    queue: 'tenant',
    callback: (_error, msg) => {
      const context = verifier.verify(msg.headers?.get('Kb-Context') ?? '');
      tenantCalls.push(context);
      const workspace: Workspace = {
        id: context.ws,
        org_id: context.org,
        name: 'ws',
        environment: 'production',
        status: 'active',
        settings: { ...DEFAULT_WORKSPACE_SETTINGS, limits: overrides.get(context.ws) ?? {} },
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      };
      msg.respond(JSON.stringify(workspace));
    },
  });
  // And its `tenant.org.get`, answering each organization's plan.
  const fakeOrgs = nc.subscribe(tenantWildcard('tenant.org.get'), {
    queue: 'tenant',
    callback: (_error, msg) => {
      const context = verifier.verify(msg.headers?.get('Kb-Context') ?? '');
      tenantCalls.push(context);
      const organization: Organization = {
        id: context.org,
        name: 'org',
        plan: plans.get(context.org) ?? 'free',
        status: 'active',
        settings: {},
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      };
      msg.respond(JSON.stringify(organization));
    },
  });
  const service = await buildUsageService({
    nc,
    mongo,
    redis,
    log,
    verifier,
    signer,
    version: '0.0.0-test',
    instance: 'usage-test',
    ...(options.counterCheckMs ? { counterCheckMs: options.counterCheckMs } : {}),
    consumer: {
      durable,
      activityPrefix: `${durable}-`,
      backoffMs: [50],
      ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
      ...(options.hooks ? { hooks: options.hooks } : {}),
    },
  });
  const publisher = createPublisher(nc);
  return {
    nc,
    mongo,
    redis,
    service,
    request: createRequester(nc),
    overrides,
    plans,
    tenantCalls,
    durable,
    async settled(timeoutMs = 30_000) {
      const consumers: [string, string][] = [
        [STREAMS.usage.name, durable],
        [STREAMS.ingest.name, `${durable}-usage-activity-accepted`],
        [STREAMS.events.name, `${durable}-usage-activity-settled`],
      ];
      await eventually(async () => {
        for (const [stream, name] of consumers) {
          const info = await jsm.consumers.info(stream, name);
          if (info.num_pending > 0 || info.num_ack_pending > 0) {
            throw new Error(
              `${name} busy: ${info.num_pending} pending, ${info.num_ack_pending} unacknowledged`,
            );
          }
        }
      }, timeoutMs);
    },
    async publish(event, msgId = event.event_id) {
      const caller = sign(context(event.org_id, event.workspace_id, []));
      const ack = await publisher.publish(
        meteringSubject({ org: event.org_id, ws: event.workspace_id }, event.metric),
        UsageEvent,
        event,
        caller,
        msgId,
      );
      return { duplicate: ack.duplicate };
    },
    async stop({ keepData = false } = {}) {
      await service.stop();
      fakeTenant.unsubscribe();
      fakeOrgs.unsubscribe();
      if (!keepData && !nc.isClosed()) {
        await jsm.consumers.delete(STREAMS.usage.name, durable).catch(() => false);
        await jsm.consumers
          .delete(STREAMS.ingest.name, `${durable}-usage-activity-accepted`)
          .catch(() => false);
        await jsm.consumers
          .delete(STREAMS.events.name, `${durable}-usage-activity-settled`)
          .catch(() => false);
      }
      if (!nc.isClosed()) await nc.drain();
      if (!keepData) await mongo.dropDatabase();
      await mongo.close();
      await closeRedis(redis);
    },
  };
}

export function context(org: string, ws: string, scopes: Scope[], plan = 'free'): TenantContext {
  return { org, ws, kid: newId('key'), scopes, plan, rid: uniqueName('rid') };
}

export const sign = (ctx: TenantContext): Caller => ({ context: ctx, token: signer.sign(ctx) });

/** A workspace key with `usage:read`, as the gateway would stamp it. */
export const reader = (org: string, ws: string, plan = 'free') =>
  sign(context(org, ws, ['usage:read'], plan));

/** The organization as a whole (organization-level subject). */
export const orgReader = (org: string, plan = 'free') => sign(context(org, ORG_LEVEL, ['usage:read'], plan));

export function tenant() {
  return { org: newId('org'), ws: newId('workspace') };
}

export function usageEvent(
  org: string,
  ws: string,
  metric: UsageMetric,
  value: number,
  occurredAt: Date | string = new Date(),
  eventId = uniqueName('evt'),
): UsageEvent {
  const occurred_at = typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString();
  return { v: 1, event_id: eventId, org_id: org, workspace_id: ws, occurred_at, metric, value };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `promise`, or a rejection naming `label` once `ms` have passed: a test made of several slow steps then says
 * which one stalled, rather than only that the whole test ran out of time.
 */
export async function stage<T>(label: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns without throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}
