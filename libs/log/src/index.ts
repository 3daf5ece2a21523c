import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear: credentials in headers, bodies and config objects.
 * Values are replaced, never logged.
 */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["kb-context"]',
  'headers["kb-context"]',
  'headers["Kb-Context"]',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.key',
  '*.api_key',
  '*.apiKey',
  '*.master_key',
  'key',
  'token',
  'secret',
  'password',
  'KB_MASTER_KEY',
  'KB_CONTEXT_SECRET',
  'KB_KEY_HASH_SECRET',
  'KB_QDRANT_API_KEY',
  '*.KB_MASTER_KEY',
  '*.KB_CONTEXT_SECRET',
  '*.KB_KEY_HASH_SECRET',
  '*.KB_QDRANT_API_KEY',
];

export interface LoggerConfig {
  service: string;
  version: string;
  level?: string;
  instance?: string;
  /** Extra fields for every line, e.g. the current request's tenant and request id. */
  fields?: () => Record<string, unknown>;
  destination?: pino.DestinationStream;
}

/** Trace and span ids of the active OpenTelemetry span, for correlating logs with traces. */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  const context = span?.spanContext();
  if (!context || context.traceId === '00000000000000000000000000000000') return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: {
      service: config.service,
      version: config.version,
      ...(config.instance ? { instance: config.instance } : {}),
    },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => ({ ...traceFields(), ...(config.fields?.() ?? {}) }),
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
