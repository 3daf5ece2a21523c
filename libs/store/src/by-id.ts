import type { Connection, Model } from 'mongoose';
import { compileFilter, type Matcher } from './match.js';

/**
 * FerretDB v1 (SQLite backend) serves only a filter of exactly `{_id: <value>}` from its primary key; any
 * other filter reads and decodes the whole collection, and its conditional updates are a read followed by
 * a write, not atomic. MongoDB serves `{_id, …conditions}` from the `_id` index, atomically. So on FerretDB
 * the scoped repositories look a document up by `_id` alone, check the rest of the filter here, and write
 * by `_id` alone, one operation per document at a time in this process, and across processes while
 * holding the document's lease when the service shares leases (leases.ts); on MongoDB they send the filter.
 * Their writes also take turns (write-turns.ts).
 */

const kinds = new WeakMap<Connection, Promise<boolean>>();

/** Whether the server behind `connection` is FerretDB (its `buildInfo` names its version); asked once. */
export function isFerretDB(connection: Connection): Promise<boolean> {
  let kind = kinds.get(connection);
  if (!kind) {
    kind = connection.asPromise().then(async (connected) => {
      const info = await connected.getClient().db(connected.name).command({ buildInfo: 1 });
      return typeof info.ferretdbVersion === 'string';
    });
    // Not answered (the server is down): ask again next time rather than remember the failure.
    kind.catch(() => kinds.delete(connection));
    kinds.set(connection, kind);
  }
  return kind;
}

/** How a scoped repository reaches documents named by `_id`: `auto` asks the server which it is. */
export type IdAccess = 'auto' | 'by-id' | 'filter';

export function usesIdPaths(model: Model<unknown>, access: IdAccess): Promise<boolean> {
  if (access === 'auto') return isFerretDB(model.db);
  return Promise.resolve(access === 'by-id');
}

/** A filter naming one document by a plain `_id`, with its other conditions compiled, or null. */
export interface IdTarget {
  id: string | number;
  matches: Matcher;
}

export function idTarget(model: Model<unknown>, filter: object | undefined): IdTarget | null {
  if (!filter) return null;
  const { _id: id, ...rest } = filter as { _id?: unknown };
  if (typeof id !== 'string' && typeof id !== 'number') return null;
  if (Object.keys(rest).length === 0) return { id, matches: () => true };
  // The same casting mongoose applies before sending a filter (a number given as text, a date as a string).
  const cast = model.where({}).cast(model, structuredClone(rest)) as Record<string, unknown>;
  const matches = compileFilter(cast);
  return matches ? { id, matches } : null;
}

/** Runs one operation per key at a time, in call order; keys are forgotten once idle. */
export function createKeyedSerializer(): <T>(key: string | number, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string | number, Promise<unknown>>();
  return (key, fn) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
