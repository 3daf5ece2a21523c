import { Env, extendBase } from '@kb/config';
import type { Static } from '@sinclair/typebox';

export const TenantEnv = extendBase({
  KB_MONGO_URL: Env.mongoUrl(),
  /** Key for the keyed hash under which API keys are stored. */
  KB_KEY_HASH_SECRET: Env.secret(32),
});

export type TenantConfig = Static<typeof TenantEnv>;
