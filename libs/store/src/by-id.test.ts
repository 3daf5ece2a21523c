import { uniqueName } from '@kb/testing';
import mongoose, { type Connection, Schema } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type IdAccess, isFerretDB } from './by-id.js';
import { type ScopedModel, scopedModel } from './scoped.js';

interface Job {
  _id: string;
  org_id: string;
  workspace_id: string;
  status: string;
  version: number;
  owner: number | null;
}

const A = { org_id: 'org_a', workspace_id: 'ws_a' };
const B = { org_id: 'org_b', workspace_id: 'ws_b' };

let connection: Connection;
/** The commands sent that read or write documents, with their filters. */
const sent: { command: string; filter: Record<string, unknown> }[] = [];
const models = {} as Record<IdAccess, ScopedModel<Job, 'org_id' | 'workspace_id'>>;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(`${inject('mongoUrl')}${uniqueName('byid')}`, { monitorCommands: true })
    .asPromise();
  connection.getClient().on('commandStarted', (event) => {
    const command = event.command as Record<string, unknown>;
    const first = (key: string) => (command[key] as { q: Record<string, unknown> }[] | undefined)?.[0]?.q;
    const filter = command.filter ?? command.query ?? first('updates') ?? first('deletes');
    if (['find', 'findAndModify', 'update', 'delete', 'insert'].includes(event.commandName))
      sent.push({ command: event.commandName, filter: (filter ?? {}) as Record<string, unknown> });
  });
  for (const mode of ['auto', 'by-id', 'filter'] as const) {
    const schema = new Schema<Job>(
      {
        _id: String,
        org_id: String,
        workspace_id: String,
        status: String,
        version: Number,
        owner: { type: Number, default: null },
      },
      { versionKey: false },
    );
    models[mode] = scopedModel(connection, `Job_${mode.replace('-', '_')}`, schema, {
      keys: ['org_id', 'workspace_id'],
      collection: `jobs_${mode.replace('-', '_')}`,
      idAccess: mode,
    });
    await models[mode].model.init();
  }
});

afterAll(async () => {
  await connection?.dropDatabase();
  await connection?.close();
});

describe('conditional operations on a document named by id', () => {
  it('knows the harness runs FerretDB, and then takes the by-id path', async () => {
    expect(await isFerretDB(connection)).toBe(true);
    await models.auto.in(A).create({ _id: 'auto1', status: 'queued', version: 1, owner: null });
    sent.length = 0;
    const taken = await models.auto
      .in(A)
      .findOneAndUpdate({ _id: 'auto1', status: 'queued' }, { $set: { status: 'processing' } });
    expect(taken?.status).toBe('processing');
    // Only filters of `_id` alone reached the server: FerretDB answers those from its primary key.
    expect(sent.map((s) => [s.command, Object.keys(s.filter)])).toEqual([
      ['find', ['_id']],
      ['findAndModify', ['_id']],
    ]);
  });

  for (const mode of ['by-id', 'filter'] as const) {
    it(`give the same answers by id and by filter (${mode})`, async () => {
      const jobs = models[mode];
      await jobs.in(A).create({ _id: 'j1', status: 'queued', version: 1, owner: null });
      await jobs.in(B).create({ _id: 'j2', status: 'queued', version: 1, owner: null });
      const cond = { _id: 'j1', version: 1, status: { $in: ['queued', 'processing'] } };
      expect(await jobs.in(A).findOne({ _id: 'j1', status: 'ready' })).toBeNull();
      expect((await jobs.in(A).findOne(cond))?._id).toBe('j1');
      expect(await jobs.in(A).findOneAndUpdate({ ...cond, version: 2 }, { $set: { owner: 1 } })).toBeNull();
      const before = await jobs
        .in(A)
        .findOneAndUpdate(cond, { $set: { status: 'processing' } }, { returnDocument: 'before' });
      expect(before?.status).toBe('queued');
      expect(await jobs.in(A).updateOne({ _id: 'j1', status: 'queued' }, { $set: { owner: 2 } })).toEqual({
        matched: 0,
        modified: 0,
      });
      expect(
        await jobs
          .in(A)
          .updateOne({ _id: 'j1', $or: [{ owner: null }, { owner: { $lt: 1 } }] }, { $set: { owner: 3 } }),
      ).toEqual({ matched: 1, modified: 1 });
      // Another tenant's document stays out of reach whatever the rest of the filter says.
      expect(await jobs.in(A).findOneAndUpdate({ _id: 'j2', status: 'queued' }, { $set: { owner: 9 } })).toBe(
        null,
      );
      expect(await jobs.in(A).deleteOne({ _id: 'j2', version: 1 })).toBe(0);
      expect(await jobs.in(A).deleteOne({ _id: 'j1', status: 'ready' })).toBe(0);
      expect(await jobs.in(B).findOne({ _id: 'j2' })).toMatchObject({ owner: null, status: 'queued' });
      expect(await jobs.in(A).findOne({ _id: 'j1' })).toMatchObject({ owner: 3, status: 'processing' });
      expect(await jobs.in(A).deleteOne({ _id: 'j1', status: 'processing' })).toBe(1);
      expect(await jobs.in(A).findOne({ _id: 'j1' })).toBeNull();
    });
  }

  it('finds a document by an id of another type than its schema gives, cast as a query would', async () => {
    const counters = scopedModel(
      connection,
      'Counter',
      new Schema({ _id: Number, org_id: String, workspace_id: String, n: Number }, { versionKey: false }),
      { keys: ['org_id', 'workspace_id'], collection: 'counters', idAccess: 'by-id' },
    );
    await counters.in(A).create({ _id: 7, n: 1 });
    // The schema's own type is read directly; text is cast to the number it names.
    expect(await counters.in(A).findOne({ _id: 7 })).toMatchObject({ _id: 7, n: 1 });
    expect(await counters.in(A).findOne({ _id: '7' })).toMatchObject({ _id: 7, n: 1 });
    expect(await counters.in(B).findOne({ _id: 7 })).toBeNull();
    expect(await counters.in(A).updateOne({ _id: '7', n: 1 }, { $inc: { n: 1 } })).toEqual({
      matched: 1,
      modified: 1,
    });
    expect((await counters.in(A).findOne({ _id: 7 }))?.n).toBe(2);
  });

  it('lets exactly one of many concurrent compare-and-set updates in this process win (by id)', async () => {
    const jobs = models['by-id'].in(A);
    await jobs.create({ _id: 'race', status: 'queued', version: 1, owner: null });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, owner) =>
        jobs.findOneAndUpdate({ _id: 'race', status: 'queued' }, { $set: { status: 'taken', owner } }),
      ),
    );
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    expect((await jobs.findOne({ _id: 'race' }))?.owner).toBe(winners[0]?.owner);
  });

  it('inserts concurrent creates together, failing only a duplicate, as create would', async () => {
    const jobs = models.auto.in(B);
    sent.length = 0;
    const results = await Promise.allSettled(
      ['c1', 'c2', 'c1', 'c3'].map((_id, version) => jobs.create({ _id, status: 'queued', version } as Job)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 11000 });
    expect((results[0] as PromiseFulfilledResult<Job>).value).toMatchObject({ ...B, owner: null });
    // One insert for all four, after the first had opened the turn.
    expect(sent.filter((s) => s.command === 'insert').length).toBeLessThanOrEqual(2);
    expect((await jobs.find({}, { sort: { _id: 1 } })).map((j) => [j._id, j.version])).toEqual([
      ['c1', 0],
      ['c2', 1],
      ['c3', 3],
    ]);
    // Validated as `create` validates: nothing is stored for a document that does not fit the schema.
    await expect(jobs.create({ _id: 'c4', status: 'queued', version: 'four' } as never)).rejects.toThrow(
      /version/,
    );
    expect(await jobs.findOne({ _id: 'c4' })).toBeNull();
  });
});
