import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { connectNats, type NatsConnection } from '@kb/bus';
import { type BaseEnv, ConfigError, loadConfig } from '@kb/config';
import { createLogger, flushLogs, type Logger } from '@kb/log';
import { startTelemetry, type Telemetry } from '@kb/telemetry';
import {
  type ContextSigner,
  type ContextVerifier,
  createContextSigner,
  createContextVerifier,
  tenantLogFields,
  tryCurrentTenant,
} from '@kb/tenancy';
import type { Static, TObject } from '@sinclair/typebox';
import { handleProcessSignals } from './process.js';
import { followSampling } from './sampling.js';
import { createShutdown, type ShutdownRegistry } from './shutdown.js';

export interface ServiceDeps<C> {
  config: C;
  log: Logger;
  nc: NatsConnection;
  shutdown: ShutdownRegistry;
  verifier: ContextVerifier;
  signer: ContextSigner;
  version: string;
  instance: string;
  /** The process's telemetry: sampling policy and the Prometheus metrics endpoint. */
  telemetry: Telemetry;
}

export interface ServiceDefinition<T extends TObject> {
  name: string;
  /** URL of the service's package.json, for its version. */
  packageJson: URL;
  /** Environment schema; must include the base variables (see `extendBase`). */
  env: T;
  /**
   * `false`: the active trace context lasts for the synchronous extent of `context.with` only, and log lines
   * take trace ids from the loggers the service binds them to (libs/telemetry SyncContextManager). Default:
   * it follows asynchronous work, and every line carries the active span's ids.
   */
  asyncContext?: boolean;
  /** Builds and starts the service; registers its stop steps on `deps.shutdown`. */
  start(deps: ServiceDeps<Static<T>>): Promise<void>;
}

/**
 * The common life of a service process: validate the environment (exit 1 naming the bad variables), start
 * telemetry, connect to NATS, follow the sampling bucket, serve metrics (`KB_METRICS_PORT`), start, log
 * `ready`; on SIGTERM stop intake, drain NATS, close stores and flush telemetry within 10 s.
 */
export async function runService<T extends TObject>(definition: ServiceDefinition<T>): Promise<void> {
  let config: Static<T> & Static<typeof BaseEnv>;
  try {
    config = loadConfig(definition.env, process.env) as Static<T> & Static<typeof BaseEnv>;
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : String(error);
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: definition.name, msg: message })}\n`);
    process.exit(1);
  }
  const version = readVersion(definition.packageJson);
  const instance = config.KB_INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const telemetry = startTelemetry({
    service: definition.name,
    version,
    instance,
    otlpEndpoint: config.KB_OTLP_ENDPOINT,
    sampleRatio: config.KB_TRACE_SAMPLE_RATIO,
    tenant: tryCurrentTenant,
    ...(definition.asyncContext === false ? { asyncContext: false } : {}),
  });
  const log = createLogger({
    service: definition.name,
    version,
    instance,
    level: config.KB_LOG_LEVEL,
    fields: tenantLogFields,
    ...(definition.asyncContext === false ? { traceFields: false } : {}),
  });
  const shutdown = createShutdown(log);
  handleProcessSignals(shutdown, log);
  shutdown.register('flush', 'telemetry', () => telemetry.shutdown(2_000));
  try {
    const nc = await connectNats(config.KB_NATS_URL, `kb-${definition.name}-${instance}`, log);
    shutdown.register('drain', 'nats', () => (nc.isClosed() ? undefined : nc.drain()));
    const sampling = followSampling(nc, telemetry.sampling, log);
    shutdown.register('intake', 'sampling', () => sampling.stop());
    if (config.KB_METRICS_PORT !== undefined) {
      const metrics = await telemetry.metrics.listen(config.KB_METRICS_PORT, config.KB_METRICS_HOST);
      shutdown.register('close', 'metrics', () => metrics.close());
      log.info({ metrics_port: metrics.port }, 'metrics listening');
    }
    await definition.start({
      config,
      log,
      nc,
      shutdown,
      verifier: createContextVerifier(config.KB_CONTEXT_SECRET),
      signer: createContextSigner(config.KB_CONTEXT_SECRET),
      version,
      instance,
      telemetry,
    });
    log.info({ pid: process.pid }, 'ready');
  } catch (error) {
    log.fatal({ err: error }, 'start failed');
    await shutdown.run('start failed');
    flushLogs(log);
    process.exit(1);
  }
}

function readVersion(url: URL): string {
  try {
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
