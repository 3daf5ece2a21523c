import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Environment configuration, checked once at start-up into a typed object. Each service declares a TypeBox
 * object whose keys are the variable names; `loadConfig` applies defaults, coerces strings to the declared
 * types and throws a ConfigError naming every bad variable (never echoing a secret's value).
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const SECRET_NAME = /(SECRET|PASSWORD|TOKEN|MASTER_KEY|API_KEY)$/;

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

export function loadConfig<T extends TObject>(
  schema: T,
  env: Record<string, string | undefined> = process.env,
): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const problems = [...Value.Errors(schema, converted)].map((error) => {
    const name = error.path.replace(/^\//, '') || '(root)';
    const given = raw[name];
    const shown =
      given === undefined ? 'not set' : isSecretName(name) ? 'value hidden' : `got "${String(given)}"`;
    return `${name}: ${error.message} (${shown})`;
  });
  if (problems.length > 0) throw new ConfigError(dedupe(problems));
  return converted as Static<T>;
}

function dedupe(lines: string[]): string[] {
  const firstPerVariable = new Map<string, string>();
  for (const line of lines) {
    const name = line.slice(0, line.indexOf(':'));
    if (!firstPerVariable.has(name)) firstPerVariable.set(name, line);
  }
  return [...firstPerVariable.values()];
}

/** Shared variable shapes, so every service spells them the same way. */
export const Env = {
  natsUrl: () => Type.String({ pattern: '^(nats|tls)://[^\\s]+$', default: 'nats://127.0.0.1:4222' }),
  redisUrl: () => Type.String({ pattern: '^rediss?://[^\\s]+$', default: 'redis://127.0.0.1:6379' }),
  mongoUrl: () =>
    Type.String({
      pattern: '^mongodb(\\+srv)?://[^\\s]+/[A-Za-z0-9_-]+(\\?.*)?$',
      default: 'mongodb://127.0.0.1:27017/kb',
    }),
  qdrantUrl: () => Type.String({ pattern: '^https?://[^\\s]+$', default: 'http://127.0.0.1:6333' }),
  logLevel: () =>
    Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
      {
        default: 'info',
      },
    ),
  /** A secret of at least `minLength` characters; the `change-me…` placeholders of .env.example are refused. */
  secret: (minLength = 32) => Type.String({ minLength, pattern: '^(?!change-me)' }),
  optionalUrl: () => Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  port: (fallback: number) => Type.Integer({ minimum: 0, maximum: 65535, default: fallback }),
};

/** Variables every service reads. */
const baseProperties = {
  KB_NATS_URL: Env.natsUrl(),
  KB_LOG_LEVEL: Env.logLevel(),
  KB_CONTEXT_SECRET: Env.secret(),
  KB_OTLP_ENDPOINT: Env.optionalUrl(),
  /** Share of new traces sampled (0..1) unless an organization has its own ratio (NATS KV `kb-sampling`). */
  KB_TRACE_SAMPLE_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
  /** Serves `GET /metrics` (Prometheus text) on this port when set; the gateway also answers it on its own port. */
  KB_METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  KB_METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  KB_INSTANCE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
};

export const BaseEnv = Type.Object(baseProperties);
export type BaseConfig = Static<typeof BaseEnv>;

/** A service's environment: the base variables plus its own. */
export function extendBase<P extends Record<string, TSchema>>(
  properties: P,
): TObject<typeof baseProperties & P> {
  return Type.Object({ ...baseProperties, ...properties });
}
