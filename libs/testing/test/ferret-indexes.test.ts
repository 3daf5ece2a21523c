import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary, type ServerHandle, startFerret, uniqueName } from '../src/index.js';

const run = promisify(execFile);

/**
 * FerretDB v1.24 (SQLite) looks documents up by `_ferretdb_sjson->'$._id'`; the harness gives every collection
 * an index on that expression (src/ferret-indexes.ts). These tests read FerretDB's SQLite files directly.
 */
let ferret: ServerHandle;
let conn: mongoose.Connection;
let database: string;

/** Rows of a read-only query on the database's SQLite file. */
async function sqlite(sql: string): Promise<string[]> {
  const file = `file:${join(ferret.dir, `${database}.sqlite`)}?mode=ro`;
  const { stdout } = await run(findBinary('sqlite3'), ['-batch', '-noheader', file, sql]);
  return stdout.split('\n').filter((line) => line !== '');
}

/** The SQLite table FerretDB keeps a collection in. */
async function tableOf(collection: string): Promise<string> {
  const [settings] = await sqlite(
    `SELECT table_name FROM _ferretdb_collections WHERE name = '${collection}'`,
  );
  if (!settings) throw new Error(`no table for ${collection}`);
  return settings;
}

/** How SQLite runs the statement FerretDB sends for a lookup by `_id` on `table`. */
const lookupPlan = async (table: string) =>
  (
    await sqlite(
      `EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "${table}" WHERE _ferretdb_sjson->'$._id' = '"x"'`,
    )
  ).join(' ');

async function indexedSoon(table: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await lookupPlan(table)).includes(`${table}_kb_id`)) {
    if (Date.now() > deadline)
      throw new Error(`${table}: lookups by _id still scan: ${await lookupPlan(table)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  ferret = await startFerret();
  database = uniqueName('kb_idx');
  conn = await mongoose.createConnection(`${ferret.url}${database}`).asPromise();
});

afterAll(async () => {
  await conn?.close();
  await ferret?.destroy();
});

describe('the _id index FerretDB’s lookups use', () => {
  it('is added to each collection, including ones created later, and FerretDB goes on answering', async () => {
    const items = conn.collection('items');
    await items.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `item-${i}` as never, n: i })));
    const table = await tableOf('items');
    await indexedSoon(table);

    const later = conn.collection('later');
    await later.insertOne({ _id: 'a' as never, n: 1 });
    await indexedSoon(await tableOf('later'));

    expect(await items.findOne({ _id: 'item-49' as never })).toEqual({ _id: 'item-49', n: 49 });
    expect((await items.updateOne({ _id: 'item-7' as never }, { $set: { n: 70 } })).modifiedCount).toBe(1);
    expect(await items.findOne({ _id: 'item-7' as never })).toEqual({ _id: 'item-7', n: 70 });
    await expect(items.insertOne({ _id: 'item-7' as never, n: 0 })).rejects.toMatchObject({ code: 11000 });
    expect((await items.deleteOne({ _id: 'item-3' as never })).deletedCount).toBe(1);
    // FerretDB's own view of the indexes is unchanged.
    expect((await items.indexes()).map((index) => index.name)).toEqual(['_id_']);
  });

  it('goes with its collection and database, and no dropped database comes back', async () => {
    await conn.collection('gone').insertOne({ _id: 'x' as never });
    await indexedSoon(await tableOf('gone'));
    await conn.dropCollection('gone');
    expect(await sqlite(`SELECT name FROM sqlite_master WHERE name LIKE 'gone%'`)).toEqual([]);

    await conn.dropDatabase();
    const file = join(ferret.dir, `${database}.sqlite`);
    expect(existsSync(file)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(existsSync(file)).toBe(false);
    expect((await conn.listDatabases()).databases.map((db) => db.name)).not.toContain(database);
  });
});
