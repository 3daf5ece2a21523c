import { Env, extendBase } from '@kb/config';
import { type Static, Type } from '@sinclair/typebox';

export const GatewayEnv = extendBase({
  KB_GATEWAY_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  KB_GATEWAY_PORT: Env.port(8080),
  KB_MASTER_KEY: Env.secret(32),
  KB_REDIS_URL: Env.redisUrl(),
  /** Largest accepted request body in bytes, before plan limits apply. */
  KB_BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1_048_576 }),
  /** Largest JSON upload body (`POST /v1/documents`); multipart uploads stream and only the plan limits them. */
  KB_UPLOAD_JSON_LIMIT: Type.Integer({ minimum: 1024, default: 37_748_736 }),
  /** How long the gateway waits for a service before answering 503. */
  KB_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
  /** How long a verified API key is trusted without asking the tenant service again. */
  KB_KEY_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 5_000 }),
  /** Requests per minute per key by plan, replacing the plan's, e.g. `free=5,starter=100` (tests, incidents). */
  KB_RATE_LIMIT_OVERRIDE: Type.Optional(
    Type.String({
      pattern:
        '^(free|starter|pro|enterprise)=[1-9][0-9]{0,6}(,(free|starter|pro|enterprise)=[1-9][0-9]{0,6})*$',
    }),
  ),
  /** An organization may make this many times its plan's per-key rate, across all its keys. */
  KB_RATE_LIMIT_ORG_FACTOR: Type.Number({ minimum: 1, maximum: 100, default: 2 }),
  /** Unauthenticated requests (no or a refused credential) per minute per client address. */
  KB_RATE_LIMIT_ANONYMOUS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 120 }),
});

export type GatewayConfig = Static<typeof GatewayEnv>;
