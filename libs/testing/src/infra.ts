import { join } from 'node:path';
import type { ServerHandle } from './server.js';
import { startFerret, startNats, startRedis } from './servers.js';

export interface Infra {
  natsUrl: string;
  redisUrl: string;
  mongoUrl: string;
  nats: ServerHandle;
  redis: ServerHandle;
  mongo: ServerHandle;
  /** Stops every server and removes the folders the harness created. */
  stop(): Promise<void>;
}

export interface InfraOptions {
  /** Parent folder: each server then keeps its data in `<dir>/nats`, `<dir>/redis`, `<dir>/ferretdb`. */
  dir?: string;
  /** Which servers to start (each defaults to true). */
  which?: { nats?: boolean; redis?: boolean; mongo?: boolean };
}

type Kind = 'nats' | 'redis' | 'mongo';

/**
 * Starts the chosen servers in parallel. Reading a server (or its URL) that was not started throws an error
 * saying so, rather than handing out `undefined` that fails later and further away.
 */
export async function startInfra(opts: InfraOptions = {}): Promise<Infra> {
  const which = { nats: true, redis: true, mongo: true, ...opts.which };
  const sub = (name: string) => (opts.dir === undefined ? {} : { dir: join(opts.dir, name) });
  const starters: Record<Kind, () => Promise<ServerHandle>> = {
    nats: () => startNats(sub('nats')),
    redis: () => startRedis(sub('redis')),
    mongo: () => startFerret(sub('ferretdb')),
  };
  const kinds = (Object.keys(starters) as Kind[]).filter((k) => which[k]);
  const results = await Promise.allSettled(kinds.map((k) => starters[k]()));

  const handles = new Map<Kind, ServerHandle>();
  const failures: string[] = [];
  results.forEach((result, i) => {
    const kind = kinds[i] as Kind;
    if (result.status === 'fulfilled') handles.set(kind, result.value);
    else failures.push(result.reason instanceof Error ? result.reason.message : String(result.reason));
  });
  const stop = async () => {
    await Promise.all([...handles.values()].map((h) => h.destroy()));
  };
  if (failures.length > 0) {
    await stop();
    throw new Error(`test infrastructure did not start:\n${failures.join('\n\n')}`);
  }

  const need = (kind: Kind): ServerHandle => {
    const handle = handles.get(kind);
    if (!handle) throw new Error(`${kind} was not started (startInfra which.${kind} was false)`);
    return handle;
  };
  return {
    get nats() {
      return need('nats');
    },
    get redis() {
      return need('redis');
    },
    get mongo() {
      return need('mongo');
    },
    get natsUrl() {
      return need('nats').url;
    },
    get redisUrl() {
      return need('redis').url;
    },
    get mongoUrl() {
      return need('mongo').url;
    },
    stop,
  };
}
