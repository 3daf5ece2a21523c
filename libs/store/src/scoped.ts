import type {
  Aggregate,
  AnyBulkWriteOperation,
  Connection,
  FilterQuery,
  Model,
  PipelineStage,
  Query,
  Schema,
  UpdateQuery,
} from 'mongoose';

/**
 * Tenant-scoped collections (DESIGN.md, isolation layer 3). Two guards:
 * - types: handlers reach a collection only through `in(scope)`, whose scope argument requires every scope
 *   field (`{org_id, workspace_id}` …), so an unscoped query does not compile;
 * - run time: a plugin refuses any query, aggregation, save or bulk write that reaches MongoDB without a
 *   plain value for every scope field, e.g. one written against the raw model.
 * The few deliberate cross-tenant operations go through `unscoped(reason)`, which names why.
 */

export class UnscopedQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnscopedQueryError';
  }
}

export interface TenantScopeOptions {
  /** Fields every filter and document must carry, e.g. `['org_id', 'workspace_id']`. */
  keys: readonly string[];
  /** Scope fields whose value may be null (an explicit "none", such as an org-level key's workspace). */
  nullable?: readonly string[];
}

const QUERY_OPS: (
  | 'countDocuments'
  | 'deleteMany'
  | 'deleteOne'
  | 'distinct'
  | 'estimatedDocumentCount'
  | 'find'
  | 'findOne'
  | 'findOneAndDelete'
  | 'findOneAndReplace'
  | 'findOneAndUpdate'
  | 'replaceOne'
  | 'updateMany'
  | 'updateOne'
)[] = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'distinct',
  'estimatedDocumentCount',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
];

/** Queries and aggregations exempted by `unscoped()`, with the reason given. */
const exempt = new WeakMap<object, string>();

/** Marks one query or aggregation as deliberately crossing tenants; `reason` says why, for reviewers. */
export function unscoped<Q extends Query<unknown, unknown> | Aggregate<unknown>>(
  reason: string,
  query: Q,
): Q {
  if (reason.trim().length === 0) throw new UnscopedQueryError('an unscoped query must name its reason');
  exempt.set(query, reason);
  return query;
}

function isScopeValue(value: unknown, nullable: boolean): boolean {
  return (typeof value === 'string' && value.length > 0) || (nullable && value === null);
}

/** Scope fields that `source` lacks or carries as anything but a plain value (operators do not count). */
function missingScope(source: Record<string, unknown> | undefined, options: TenantScopeOptions): string[] {
  const nullable = options.nullable ?? [];
  return options.keys.filter(
    (key) =>
      source === undefined ||
      !Object.hasOwn(source, key) ||
      !isScopeValue(source[key], nullable.includes(key)),
  );
}

/** Mongoose plugin: refuses, at run time, every operation on the collection that lacks the tenant scope. */
export function tenantScopePlugin(schema: Schema, options: TenantScopeOptions): void {
  const refuse = (what: string, collection: string, missing: string[]): never => {
    throw new UnscopedQueryError(
      `${what} on ${collection} without its tenant scope (${missing.join(', ')}); use in(scope) or unscoped(reason)`,
    );
  };

  schema.pre(QUERY_OPS, { document: false, query: true }, function (this: Query<unknown, unknown>) {
    if (exempt.has(this)) return;
    const missing = missingScope(this.getFilter(), options);
    if (missing.length > 0)
      refuse((this as { op?: string }).op ?? 'query', this.model.collection.collectionName, missing);
  });

  schema.pre('aggregate', function (this: Aggregate<unknown>) {
    if (exempt.has(this)) return;
    const first = this.pipeline()[0] as { $match?: Record<string, unknown> } | undefined;
    const missing = missingScope(first?.$match, options);
    if (missing.length > 0) {
      refuse(
        'aggregate (first stage must $match the scope)',
        this.model().collection.collectionName,
        missing,
      );
    }
  });

  // Before validation too, so the answer is the scope error rather than a "required" one.
  schema.pre(['validate', 'save'], { document: true, query: false }, function () {
    const missing = missingScope(this.toObject() as Record<string, unknown>, options);
    if (missing.length > 0) refuse('save', this.collection.collectionName, missing);
  });

  schema.pre('insertMany', function (this: Model<unknown>, next, docs: unknown) {
    const list = (Array.isArray(docs) ? docs : [docs]) as Record<string, unknown>[];
    const missing = list.flatMap((doc) => missingScope(doc, options));
    if (missing.length > 0) return next(unscopedError('insertMany', this.collection.collectionName, missing));
    next();
  });

  schema.pre('bulkWrite', function (this: Model<unknown>, next, ops: AnyBulkWriteOperation[]) {
    const missing = ops.flatMap((op) => missingScope(bulkTarget(op), options));
    if (missing.length > 0) return next(unscopedError('bulkWrite', this.collection.collectionName, missing));
    next();
  });
}

function unscopedError(what: string, collection: string, missing: string[]): UnscopedQueryError {
  return new UnscopedQueryError(`${what} on ${collection} without its tenant scope (${missing.join(', ')})`);
}

/** The filter (or new document) of one bulk-write operation. */
function bulkTarget(op: AnyBulkWriteOperation): Record<string, unknown> | undefined {
  const [inner] = Object.values(op) as { filter?: unknown; document?: unknown }[];
  const target = inner?.filter ?? inner?.document;
  return target && typeof target === 'object' ? (target as Record<string, unknown>) : undefined;
}

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
  return {
    model,
    in: (scope) => bindScope(model, scope, scopeOptions),
    unscoped(reason) {
      const mark = <Q extends Query<unknown, unknown>>(query: Q) => unscoped(reason, query);
      return {
        findOne: (filter) => mark(model.findOne(filter).lean<TDoc>()).exec() as Promise<TDoc | null>,
        updateMany: async (filter, update) => written(await mark(model.updateMany(filter, update)).exec()),
      };
    },
  };
}

function bindScope<TDoc, K extends keyof TDoc & string>(
  model: Model<TDoc>,
  scope: ScopeOf<TDoc, K>,
  options: TenantScopeOptions,
): ScopedRepository<TDoc, K> {
  const missing = missingScope(scope as Record<string, unknown>, options);
  if (missing.length > 0) {
    throw new UnscopedQueryError(`scope for ${model.collection.collectionName} lacks ${missing.join(', ')}`);
  }
  const scoped = (filter: FilterQuery<TDoc> = {}) => ({ ...filter, ...scope }) as FilterQuery<TDoc>;
  const guardUpdate = (update: UpdateQuery<TDoc>) => {
    const touched = touchedFields(update).filter((field) => options.keys.includes(field));
    if (touched.length > 0) throw new UnscopedQueryError(`an update may not change ${touched.join(', ')}`);
    return update;
  };
  const inScope = (doc: Record<string, unknown> | null): boolean =>
    doc !== null && options.keys.every((key) => doc[key] === (scope as Record<string, unknown>)[key]);
  /**
   * A document by id alone, when it belongs to the scope. Ids are globally unique and scope fields never
   * change (`guardUpdate`), so "this id, in this scope" is "this id, then its scope checked": the same
   * answer, but a filter of `_id` alone is one the database serves from its primary key (FerretDB v1 pushes
   * down nothing else), where the scoped filter would read the whole collection.
   */
  const byId = async (id: unknown): Promise<TDoc | null> => {
    const doc = await unscoped(
      ID_LOOKUP,
      model.findOne({ _id: id } as FilterQuery<TDoc>).lean<TDoc>(),
    ).exec();
    return inScope(doc as Record<string, unknown> | null) ? (doc as TDoc) : null;
  };
  const onlyId = (filter: FilterQuery<TDoc> | undefined) => (filter ? idOnly(filter) : NO_ID);
  return {
    scope,
    async findOne(filter, opts = {}) {
      const id = onlyId(filter);
      if (id !== NO_ID) return byId(id);
      return model
        .findOne(scoped(filter))
        .sort(opts.sort ?? {})
        .lean<TDoc>()
        .exec() as Promise<TDoc | null>;
    },
    find(filter, opts = {}) {
      const query = model.find(scoped(filter)).sort(opts.sort ?? {});
      if (opts.limit !== undefined) query.limit(opts.limit);
      return query.lean<TDoc[]>().exec();
    },
    countDocuments: (filter) => model.countDocuments(scoped(filter)).exec(),
    async create(doc) {
      const created = await model.create({ ...doc, ...scope });
      return created.toObject() as TDoc;
    },
    async updateOne(filter, update) {
      const id = onlyId(filter);
      if (id === NO_ID) return written(await model.updateOne(scoped(filter), guardUpdate(update)).exec());
      guardUpdate(update);
      if (!(await byId(id))) return { matched: 0, modified: 0 };
      return written(
        await unscoped(ID_LOOKUP, model.updateOne({ _id: id } as FilterQuery<TDoc>, update)).exec(),
      );
    },
    updateMany: async (filter, update) =>
      written(await model.updateMany(scoped(filter), guardUpdate(update)).exec()),
    async findOneAndUpdate(filter, update, opts = {}) {
      const returnDocument = opts.returnDocument ?? 'after';
      const id = onlyId(filter);
      if (id === NO_ID) {
        return model
          .findOneAndUpdate(scoped(filter), guardUpdate(update), { returnDocument })
          .lean<TDoc>()
          .exec() as Promise<TDoc | null>;
      }
      guardUpdate(update);
      if (!(await byId(id))) return null;
      return unscoped(
        ID_LOOKUP,
        model.findOneAndUpdate({ _id: id } as FilterQuery<TDoc>, update, { returnDocument }).lean<TDoc>(),
      ).exec() as Promise<TDoc | null>;
    },
    async deleteOne(filter) {
      const id = onlyId(filter);
      if (id === NO_ID) return (await model.deleteOne(scoped(filter)).exec()).deletedCount;
      if (!(await byId(id))) return 0;
      return (await unscoped(ID_LOOKUP, model.deleteOne({ _id: id } as FilterQuery<TDoc>)).exec())
        .deletedCount;
    },
    deleteMany: async (filter) => (await model.deleteMany(scoped(filter)).exec()).deletedCount,
    aggregate: <R>(pipeline: PipelineStage[]) =>
      model.aggregate<R>([{ $match: { ...scope } } as PipelineStage, ...pipeline]).exec(),
  };
}

const ID_LOOKUP = 'a document by its globally unique id; its tenant scope is checked on the document read';
const NO_ID = Symbol('no id');

/** The id of a filter that is exactly `{_id: <plain value>}`, or NO_ID. */
function idOnly(filter: object): unknown {
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0] !== '_id') return NO_ID;
  const id = (filter as { _id: unknown })._id;
  return typeof id === 'string' || typeof id === 'number' ? id : NO_ID;
}

/** Top-level field names an update writes, with or without operators (`$set: {a}`, `{a}`, `$rename`). */
function touchedFields(update: object): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(update)) {
    if (!key.startsWith('$')) fields.push(key.split('.')[0] as string);
    else if (value && typeof value === 'object') {
      for (const [field, target] of Object.entries(value)) {
        fields.push(field.split('.')[0] as string);
        if (key === '$rename' && typeof target === 'string') fields.push(target.split('.')[0] as string);
      }
    }
  }
  return fields;
}

const written = (result: { matchedCount: number; modifiedCount: number }): WriteResult => ({
  matched: result.matchedCount,
  modified: result.modifiedCount,
});
