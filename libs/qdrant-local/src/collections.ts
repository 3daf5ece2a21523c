import { pointCount } from './collection.js';
import { parseCreateCollection, renderConfig, validateCollectionName } from './config.js';
import { bodyObject, collectionOf, commitUpdate, type Handler } from './context.js';
import { conflict, formatError } from './errors.js';
import { parseIndexSchema, renderIndex } from './payload-index.js';

export const listCollections: Handler = (ctx) => ({
  collections: [...ctx.engine.collections.keys()].map((name) => ({ name })),
});

export const collectionExists: Handler = (ctx) => ({
  exists: ctx.engine.collections.has(ctx.params.collection ?? ''),
});

export const getCollection: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const payloads = c.payloads;
  return {
    status: 'green',
    optimizer_status: 'ok',
    indexed_vectors_count: 0,
    points_count: pointCount(c),
    segments_count: 1,
    config: renderConfig(c.config),
    payload_schema: Object.fromEntries(
      [...c.indexes].map(([field, index]) => [field, renderIndex(index, payloads)]),
    ),
  };
};

export const createCollection: Handler = async (ctx) => {
  const name = ctx.params.collection ?? '';
  validateCollectionName(name);
  const config = parseCreateCollection(ctx.body);
  if (ctx.engine.collections.has(name)) throw conflict(`Collection \`${name}\` already exists!`);
  await ctx.engine.commit({ type: 'create_collection', name, config });
  return true;
};

export const deleteCollection: Handler = async (ctx) => {
  const name = ctx.params.collection ?? '';
  if (!ctx.engine.collections.has(name)) return false;
  await ctx.engine.commit({ type: 'delete_collection', name });
  return true;
};

/** PATCH /collections/{name}: settings the engine has no use for are accepted and ignored. */
export const updateCollection: Handler = (ctx) => {
  collectionOf(ctx);
  return true;
};

export const createFieldIndex: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  if (typeof body.field_name !== 'string' || body.field_name === '') {
    throw formatError('`field_name` must be a payload key');
  }
  const schema = parseIndexSchema(body.field_schema ?? 'keyword');
  return commitUpdate(ctx, {
    type: 'create_index',
    collection: c.name,
    opId: c.nextOpId,
    field: body.field_name,
    schema,
  });
};

export const deleteFieldIndex: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const field = ctx.params.field ?? '';
  return commitUpdate(ctx, { type: 'delete_index', collection: c.name, opId: c.nextOpId, field });
};
