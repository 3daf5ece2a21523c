import type { Connection, FilterQuery, Model, PipelineStage, Query, Schema, UpdateQuery } from 'mongoose';
import { createKeyedSerializer, type IdAccess } from './by-id.js';
import { type TenantScopeOptions, tenantScopePlugin, unscoped } from './guard.js';
import { bindScope, written } from './repository.js';

export {
  type TenantScopeOptions,
  tenantScopePlugin,
  UnscopedQueryError,
  unscoped,
} from './guard.js';

/** The scope a repository is bound to: every scope field, required, with its document type. */
export type ScopeOf<TDoc, K extends keyof TDoc> = { readonly [P in K]-?: Exclude<TDoc[P], undefined> };

export interface FindOptions {
  sort?: Record<string, 1 | -1>;
  limit?: number;
}

export interface WriteResult {
  matched: number;
  modified: number;
}

/** Operations bound to one tenant scope: the scope is merged into every filter, pipeline and new document. */
export interface ScopedRepository<TDoc, K extends keyof TDoc> {
  readonly scope: ScopeOf<TDoc, K>;
  findOne(filter?: FilterQuery<TDoc>, options?: FindOptions): Promise<TDoc | null>;
  find(filter?: FilterQuery<TDoc>, options?: FindOptions): Promise<TDoc[]>;
  countDocuments(filter?: FilterQuery<TDoc>): Promise<number>;
  create(doc: Omit<TDoc, K>): Promise<TDoc>;
  updateOne(filter: FilterQuery<TDoc>, update: UpdateQuery<TDoc>): Promise<WriteResult>;
  updateMany(filter: FilterQuery<TDoc>, update: UpdateQuery<TDoc>): Promise<WriteResult>;
  /** Returns the document after the update, or before it with `returnDocument: 'before'`. */
  findOneAndUpdate(
    filter: FilterQuery<TDoc>,
    update: UpdateQuery<TDoc>,
    options?: { returnDocument?: 'before' | 'after' },
  ): Promise<TDoc | null>;
  deleteOne(filter: FilterQuery<TDoc>): Promise<number>;
  deleteMany(filter: FilterQuery<TDoc>): Promise<number>;
  /** Runs `pipeline` after a first `$match` on the scope. */
  aggregate<R>(pipeline: PipelineStage[]): Promise<R[]>;
}

/** The few deliberate cross-tenant operations; each query is marked with the reason given to `unscoped()`. */
export interface UnscopedOperations<TDoc> {
  findOne(filter: FilterQuery<TDoc>): Promise<TDoc | null>;
  updateMany(filter: FilterQuery<TDoc>, update: UpdateQuery<TDoc>): Promise<WriteResult>;
}

export interface ScopedModel<TDoc, K extends keyof TDoc> {
  /** The raw model: for index builds and tests. Its queries are still refused without the scope. */
  readonly model: Model<TDoc>;
  in(scope: ScopeOf<TDoc, K>): ScopedRepository<TDoc, K>;
  unscoped(reason: string): UnscopedOperations<TDoc>;
}

export interface ScopedModelOptions<K extends string> {
  keys: readonly K[];
  nullable?: readonly K[];
  /** Collection name; mongoose's pluralised model name otherwise. */
  collection?: string;
  /**
   * How documents named by `_id` are reached (by-id.ts): `auto` (default) looks them up by `_id` alone on
   * FerretDB and sends the whole filter to MongoDB; tests force either path.
   */
  idAccess?: IdAccess;
}

/** Compiles `schema` on `connection` with the scope guard and returns its scoped entry points. */
export function scopedModel<TDoc, const K extends keyof TDoc & string>(
  connection: Connection,
  name: string,
  schema: Schema<TDoc>,
  options: ScopedModelOptions<K>,
): ScopedModel<TDoc, K> {
  const scopeOptions: TenantScopeOptions = { keys: options.keys, nullable: options.nullable ?? [] };
  schema.plugin(tenantScopePlugin, scopeOptions);
  const model = connection.model<TDoc>(name, schema, options.collection);
  const access = { mode: options.idAccess ?? 'auto', serialize: createKeyedSerializer() } as const;
  return {
    model,
    in: (scope) => bindScope(model, scope, scopeOptions, access),
    unscoped(reason) {
      const mark = <Q extends Query<unknown, unknown>>(query: Q) => unscoped(reason, query);
      return {
        findOne: (filter) => mark(model.findOne(filter).lean<TDoc>()).exec() as Promise<TDoc | null>,
        updateMany: async (filter, update) => written(await mark(model.updateMany(filter, update)).exec()),
      };
    },
  };
}
