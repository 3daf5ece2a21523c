import { Writable } from 'node:stream';
import {
  type Caller,
  connectNats,
  createRequester,
  ensureStreams,
  type NatsConnection,
  type Requester,
} from '@kb/bus';
import { CREDENTIALS_REVOKED_SUBJECT, STREAMS } from '@kb/contracts';
import { createLogger } from '@kb/log';
import {
  createContextSigner,
  createContextVerifier,
  newId,
  ORG_LEVEL,
  type Scope,
  SYSTEM_ORG,
  type TenantContext,
} from '@kb/tenancy';
import { uniqueName } from '@kb/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import mongoose, { type Connection } from 'mongoose';
import { inject } from 'vitest';
import { buildTenantService, type TenantService } from '../src/service.js';

export const CONTEXT_SECRET = 'tenant-test-context-secret-'.padEnd(48, 'x');
export const KEY_HASH_SECRET = 'tenant-test-key-hash-secret-'.padEnd(48, 'y');
export const signer = createContextSigner(CONTEXT_SECRET);
export const verifier = createContextVerifier(CONTEXT_SECRET);

/** Every log line the service wrote, to check that no secret ever reaches a log. */
export const logLines: string[] = [];
export const log = createLogger({
  service: 'tenant-test',
  version: '0',
  level: 'debug',
  destination: new Writable({
    write(chunk, _encoding, callback) {
      logLines.push(String(chunk));
      callback();
    },
  }),
});

export interface Harness {
  nc: NatsConnection;
  mongo: Connection;
  service: TenantService;
  request: Requester;
  stop(): Promise<void>;
}

/** The tenant service in-process, on the harness's NATS and a fresh database of its own. */
export async function startTenant(options: { lastUsedFlushMs?: number } = {}): Promise<Harness> {
  const nc = await connectNats(inject('natsUrl'), uniqueName('tenant-test'), log);
  const mongo = await mongoose.createConnection(`${inject('mongoUrl')}${uniqueName('tenant')}`).asPromise();
  await ensureStreams(await jetstreamManager(nc), [STREAMS.audit, STREAMS.events, STREAMS.deadLetter]);
  const service = await buildTenantService({
    nc,
    mongo,
    log,
    verifier,
    signer,
    version: '0.0.0-test',
    instance: 'tenant-test',
    keyHashSecret: KEY_HASH_SECRET,
    ...options,
  });
  return {
    nc,
    mongo,
    service,
    request: createRequester(nc),
    async stop() {
      await service.stop();
      await service.close();
      await nc.drain();
      await mongo.dropDatabase();
      await mongo.close();
    },
  };
}

function context(org: string, ws: string, kid: string, scopes: Scope[]): TenantContext {
  return { org, ws, kid, scopes, plan: '', rid: uniqueName('rid') };
}

const sign = (ctx: TenantContext): Caller => ({ context: ctx, token: signer.sign(ctx) });

/** The operator (master key) acting on an organization, or on one of its workspaces. */
export const operator = (org: string, ws: string = ORG_LEVEL) =>
  sign(context(org, ws, 'master', ['operator']));

/** An organization-admin key of `org`, acting on the organization or one of its workspaces. */
export const orgAdmin = (org: string, ws: string = ORG_LEVEL, kid = newId('key')) =>
  sign(context(org, ws, kid, ['org:admin']));

/** The gateway's system context, for `kb.sys.…` operations. */
export const system = () => sign(context(SYSTEM_ORG, ORG_LEVEL, 'gateway', ['system']));

/** Creates an organization (as the operator would, through the gateway) and returns its id. */
export async function createOrg(h: Harness, plan?: 'free' | 'starter' | 'pro' | 'enterprise') {
  const org = newId('org');
  await h.request('tenant.org.create', operator(org), { name: `org ${org}`, ...(plan ? { plan } : {}) });
  return org;
}

export async function createWorkspace(
  h: Harness,
  org: string,
  environment: 'development' | 'staging' | 'production' = 'production',
) {
  return h.request('tenant.workspace.create', orgAdmin(org), { name: 'ws', environment });
}

export async function createKey(
  h: Harness,
  org: string,
  ws: string,
  body: { scopes?: ('search' | 'documents:read')[]; expires_at?: string } = {},
) {
  return h.request('tenant.keys.create', orgAdmin(org, ws), {
    name: 'key',
    scopes: body.scopes ?? ['search'],
    ...(body.expires_at ? { expires_at: body.expires_at } : {}),
  });
}

/** Collects CredentialsRevoked broadcasts. */
export function watchRevocations(nc: NatsConnection) {
  const seen: Record<string, unknown>[] = [];
  const sub = nc.subscribe(CREDENTIALS_REVOKED_SUBJECT, {
    callback: (_error, msg) => {
      seen.push(msg.json<Record<string, unknown>>());
    },
  });
  return {
    seen,
    stop: () => sub.unsubscribe(),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns without throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000): Promise<T> {
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
