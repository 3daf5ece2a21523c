import { type NatsConnection, type RefusalRecorder, type ServedService, serveOperations } from '@kb/bus';
import type { Logger } from '@kb/log';
import { statusHandler } from '@kb/runtime';
import type { ContextVerifier } from '@kb/tenancy';
import type { HandlerDeps, IngestionHandlers } from './handlers/deps.js';
import { documentHandlers } from './handlers/documents.js';

export interface IngestionDeps {
  nc: NatsConnection;
  log: Logger;
  verifier: ContextVerifier;
  version: string;
  instance: string;
  handlerDeps: HandlerDeps;
  onRefused?: RefusalRecorder;
}

/** Builds the ingestion service's NATS endpoints from its dependencies; `main.ts` wires the real ones. */
export function buildIngestionService(deps: IngestionDeps): Promise<ServedService> {
  const handlers: IngestionHandlers = {
    'ingestion.status': statusHandler('ingestion', deps.version, deps.instance),
    ...documentHandlers(deps.handlerDeps),
  };
  return serveOperations(deps.nc, {
    name: 'ingestion',
    version: deps.version,
    description: 'document lifecycle and the ingestion pipeline',
    instance: deps.instance,
    verifier: deps.verifier,
    log: deps.log,
    ...(deps.onRefused ? { onRefused: deps.onRefused } : {}),
    handlers,
  });
}
