import { Env, extendBase } from '@kb/config';
import type { Static } from '@sinclair/typebox';

export const UsageEnv = extendBase({
  KB_MONGO_URL: Env.mongoUrl(),
  KB_REDIS_URL: Env.redisUrl(),
});

export type UsageConfig = Static<typeof UsageEnv>;
