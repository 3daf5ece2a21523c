import type { Aggregate, AnyBulkWriteOperation, Model, Query, Schema } from 'mongoose';

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
export function missingScope(
  source: Record<string, unknown> | undefined,
  options: TenantScopeOptions,
): string[] {
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
