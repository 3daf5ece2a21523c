import type { Handler } from '@kb/bus';
import type { OperationName } from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { WorkspaceSettingsSource } from '../domain/settings.js';
import type { DeletedWorkspaces } from '../domain/tombstones.js';
import type { FairQueue } from '../queue/fair.js';
import type { Queues } from '../queue/queues.js';
import type { IngestionStores } from '../store/documents.js';
import type { VectorWriter } from '../store/vectors.js';

/** What the NATS operations work with. */
export interface HandlerDeps {
  stores: IngestionStores;
  workspaces: DeletedWorkspaces;
  settings: WorkspaceSettingsSource;
  vectors: VectorWriter;
  queues: Queues;
  /** Where an accepted version waits its turn, and what to tell once it is there. */
  fair: FairQueue;
  onQueued?: () => void;
  log: Logger;
}

export type IngestionOperation = Extract<OperationName, `ingestion.${string}`>;
/** Every ingestion operation of the catalog, or this does not compile. */
export type IngestionHandlers = { [K in IngestionOperation]: Handler<K> };
