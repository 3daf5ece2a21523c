import { randomUUID } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createPublisher, type NatsConnection, type Requester } from '@kb/bus';
import { AppError } from '@kb/errors';
import { type Logger, requestLogger } from '@kb/log';
import type { MetricsEndpoint } from '@kb/telemetry';
import type { ContextSigner } from '@kb/tenancy';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import { createCredentialResolver } from './auth/credentials.js';
import type { KeyCache } from './auth/key-cache.js';
import { registerAuth } from './auth/plugin.js';
import { createSearchTokens, searchTokenJwtOptions } from './auth/search-tokens.js';
import { openUploadStore, type UploadStore } from './documents/store.js';
import { type RateLimitSettings, registerLimits } from './limits/index.js';
import { registerOpenApi } from './plugins/openapi.js';
import { registerProblemHandlers, sendProblem } from './plugins/problems.js';
import { registerRouteInfo } from './plugins/route.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { childLoggerFactory, registerTracing, tracedServerFactory } from './plugins/tracing.js';
import { createAccess } from './routes/access.js';
import { documentRoutes } from './routes/documents.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { orgRoutes } from './routes/orgs.js';
import { searchRoutes } from './routes/search.js';
import { usageRoutes } from './routes/usage.js';
import { workspaceRoutes } from './routes/workspaces.js';

export interface GatewayDeps {
  log: Logger;
  nc: NatsConnection;
  redis: Redis;
  request: Requester;
  signer: ContextSigner;
  keyCache: KeyCache;
  revokedKeyIds: ReadonlySet<string>;
  masterKey: string;
  contextSecret: string;
  version: string;
  bodyLimit?: number;
  /** Rate-limit settings over the defaults (limits/settings.ts). */
  rateLimits?: Partial<RateLimitSettings>;
  /** API-call metering (default on; benchmarks measure its cost with it off). */
  metering?: boolean;
  /** Where uploads go (default: the NATS Object Store bucket). */
  uploads?: UploadStore;
  /** Largest JSON upload body (multipart uploads stream, limited by the plan). */
  uploadJsonLimit?: number;
  /** The process's metrics, answered on `GET /metrics`. */
  metrics?: MetricsEndpoint;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Builds the gateway without listening, so tests drive it with `inject()`. */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Request lines skip the wildcard redaction paths (libs/log requestLogger): they never carry bodies.
    loggerInstance: requestLogger(deps.log) as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit ?? 1_048_576,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    requestTimeout: 30_000,
    serverFactory: tracedServerFactory,
    childLoggerFactory,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // One log line per request (on response) instead of Fastify's two; the request id as in every service.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    // Router-level failures (over-long or undecodable path parameters) get the same problem answers.
    frameworkErrors: (error, request, reply) => {
      const detail =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'path parameter is too long' : 'malformed request path';
      return sendProblem(request, reply, new AppError('invalid-request', detail));
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerRouteInfo(app);
  registerTracing(app);
  registerProblemHandlers(app);
  registerSecurityHeaders(app);
  await app.register(fastifyJwt, searchTokenJwtOptions(deps.contextSecret));
  const tokens = createSearchTokens(app);
  const resolveCredential = createCredentialResolver({
    masterKey: deps.masterKey,
    cache: deps.keyCache,
    request: deps.request,
    signer: deps.signer,
    tokens,
    revokedKeyIds: deps.revokedKeyIds,
  });
  registerAuth(app, resolveCredential);
  // After authentication: rate limits need the principal. `quotas.assertAvailable` is for routes that accept work.
  const { quotas } = await registerLimits(app, {
    redis: deps.redis,
    nc: deps.nc,
    signer: deps.signer,
    request: deps.request,
    log: deps.log,
    ...(deps.rateLimits ? { settings: deps.rateLimits } : {}),
    ...(deps.metering === false ? { metering: false } : {}),
  });
  await registerOpenApi(app, deps.version);
  const routeDeps = {
    access: createAccess(deps.signer, deps.request),
    request: deps.request,
    tokens,
    quotas,
  };
  await app.register(
    healthRoutes({ nc: deps.nc, redis: deps.redis, ...(deps.metrics ? { metrics: deps.metrics } : {}) }),
  );
  await app.register(orgRoutes(routeDeps));
  await app.register(workspaceRoutes(routeDeps));
  await app.register(keyRoutes(routeDeps));
  await app.register(usageRoutes(routeDeps));
  await app.register(searchRoutes(routeDeps));
  await app.register(
    documentRoutes({
      ...routeDeps,
      uploads: deps.uploads ?? (await openUploadStore(deps.nc)),
      publisher: createPublisher(deps.nc),
      resolve: resolveCredential,
      jsonBodyLimit: deps.uploadJsonLimit ?? 36 * 1024 * 1024,
    }),
  );
  return app;
}
