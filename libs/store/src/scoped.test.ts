import { uniqueName } from '@kb/testing';
import mongoose, { type Connection, Schema } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ScopedModel, scopedModel, UnscopedQueryError, unscoped } from './scoped.js';

interface Note {
  _id: string;
  org_id: string;
  workspace_id: string | null;
  text: string;
}

let connection: Connection;
let notes: ScopedModel<Note, 'org_id' | 'workspace_id'>;

const A = { org_id: 'org_a', workspace_id: 'ws_a' };
const B = { org_id: 'org_b', workspace_id: 'ws_b' };

beforeAll(async () => {
  connection = await mongoose.createConnection(`${inject('mongoUrl')}${uniqueName('store')}`).asPromise();
  const schema = new Schema<Note>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, default: null },
      text: { type: String, required: true },
    },
    { versionKey: false },
  );
  notes = scopedModel(connection, 'Note', schema, {
    keys: ['org_id', 'workspace_id'],
    nullable: ['workspace_id'],
    collection: 'notes',
  });
  await notes.in(A).create({ _id: 'n1', text: 'a1' });
  await notes.in(A).create({ _id: 'n2', text: 'a2' });
  await notes.in(B).create({ _id: 'n3', text: 'b1' });
  await notes.in({ org_id: 'org_a', workspace_id: null }).create({ _id: 'n4', text: 'org-level' });
});

afterAll(async () => {
  await connection?.dropDatabase();
  await connection?.close();
});

describe('scoped repositories', () => {
  it('see only their own scope, whatever the filter says', async () => {
    const own = await notes.in(A).find({}, { sort: { _id: 1 } });
    expect(own.map((n) => n._id)).toEqual(['n1', 'n2']);
    // A filter naming another tenant cannot widen the scope: the bound scope wins.
    expect(await notes.in(A).find({ org_id: 'org_b' } as object)).toHaveLength(2);
    expect(await notes.in(A).findOne({ _id: 'n3' })).toBeNull();
    expect(await notes.in(A).countDocuments()).toBe(2);
    expect(await notes.in({ org_id: 'org_a', workspace_id: null }).countDocuments()).toBe(1);
  });

  it('write only inside their scope', async () => {
    expect(await notes.in(A).updateMany({}, { $set: { text: 'x' } })).toEqual({ matched: 2, modified: 2 });
    expect((await notes.in(B).findOne({ _id: 'n3' }))?.text).toBe('b1');
    expect(await notes.in(A).deleteOne({ _id: 'n3' })).toBe(0);
    const aggregated = await notes.in(B).aggregate<{ n: number }>([{ $count: 'n' }]);
    expect(aggregated).toEqual([{ n: 1 }]);
  });

  it('answer a lookup by id only inside their scope', async () => {
    // `{_id}` alone is served by the primary key, then checked against the scope: another tenant's id, even
    // an org-level document of the same organization, is invisible and untouchable through every method.
    const orgLevel = { org_id: 'org_a', workspace_id: null };
    expect(await notes.in(A).findOne({ _id: 'n4' })).toBeNull();
    expect(await notes.in(orgLevel).findOne({ _id: 'n1' })).toBeNull();
    expect((await notes.in(orgLevel).findOne({ _id: 'n4' }))?.text).toBe('org-level');
    expect(await notes.in(A).updateOne({ _id: 'n3' }, { $set: { text: 'stolen' } })).toEqual({
      matched: 0,
      modified: 0,
    });
    expect(await notes.in(A).findOneAndUpdate({ _id: 'n3' }, { $set: { text: 'stolen' } })).toBeNull();
    expect(await notes.in(A).findOneAndUpdate({ _id: 'n4' }, { $set: { text: 'stolen' } })).toBeNull();
    expect(await notes.in(A).deleteOne({ _id: 'n4' })).toBe(0);
    expect((await notes.in(B).findOne({ _id: 'n3' }))?.text).toBe('b1');
    expect((await notes.in(orgLevel).findOne({ _id: 'n4' }))?.text).toBe('org-level');
    // Inside the scope the same calls work, and the scope-change guard still applies.
    await notes.in(B).create({ _id: 'n5', text: 'b2' });
    expect(await notes.in(B).findOneAndUpdate({ _id: 'n5' }, { $set: { text: 'b2!' } })).toMatchObject({
      text: 'b2!',
    });
    expect(
      await notes
        .in(B)
        .findOneAndUpdate({ _id: 'n5' }, { $set: { text: 'b2?' } }, { returnDocument: 'before' }),
    ).toMatchObject({ text: 'b2!' });
    expect(await notes.in(B).updateOne({ _id: 'n5' }, { $set: { text: 'b3' } })).toEqual({
      matched: 1,
      modified: 1,
    });
    await expect(notes.in(B).findOneAndUpdate({ _id: 'n5' }, { $set: { org_id: 'org_a' } })).rejects.toThrow(
      UnscopedQueryError,
    );
    expect(await notes.in(B).deleteOne({ _id: 'n5' })).toBe(1);
    expect(await notes.in(B).findOne({ _id: 'n5' })).toBeNull();
  });

  it('refuse an update that moves a document to another scope', async () => {
    await expect(notes.in(A).updateOne({ _id: 'n1' }, { $set: { org_id: 'org_b' } })).rejects.toThrow(
      UnscopedQueryError,
    );
    await expect(notes.in(A).updateOne({ _id: 'n1' }, { workspace_id: 'ws_b' })).rejects.toThrow(
      /may not change workspace_id/,
    );
  });

  it('refuse a scope with a missing or empty field at run time', () => {
    expect(() => notes.in({ org_id: '' } as never)).toThrow(UnscopedQueryError);
    expect(() => notes.in({ org_id: 'org_a' } as never)).toThrow(/lacks workspace_id/);
  });

  it('do not compile without the whole scope', () => {
    const typeOnly = () => {
      // @ts-expect-error the workspace is part of the scope
      notes.in({ org_id: 'org_a' });
      // @ts-expect-error no scope at all
      notes.in({});
      // @ts-expect-error a scope field may not be undefined
      notes.in({ org_id: undefined, workspace_id: 'ws_a' });
    };
    expect(typeOnly).toBeTypeOf('function');
  });
});

describe('the run-time guard on the raw model', () => {
  it('refuses unscoped queries of every kind', async () => {
    const { model } = notes;
    await expect(model.find({}).exec()).rejects.toThrow(UnscopedQueryError);
    await expect(model.findOne({ _id: 'n1' }).exec()).rejects.toThrow(/findOne on notes without/);
    await expect(model.find({ org_id: 'org_a' }).exec()).rejects.toThrow(/workspace_id/);
    await expect(model.countDocuments({ workspace_id: 'ws_a' }).exec()).rejects.toThrow(/org_id/);
    await expect(model.updateMany({}, { text: 'y' }).exec()).rejects.toThrow(UnscopedQueryError);
    await expect(model.updateOne({ _id: 'n1' }, { text: 'y' }).exec()).rejects.toThrow(UnscopedQueryError);
    await expect(model.deleteOne({ _id: 'n1' }).exec()).rejects.toThrow(UnscopedQueryError);
    await expect(model.deleteMany({}).exec()).rejects.toThrow(UnscopedQueryError);
    await expect(model.findOneAndUpdate({ _id: 'n1' }, { text: 'y' }).exec()).rejects.toThrow(
      UnscopedQueryError,
    );
    await expect(model.aggregate([{ $match: { _id: 'n1' } }]).exec()).rejects.toThrow(UnscopedQueryError);
    await expect(model.estimatedDocumentCount().exec()).rejects.toThrow(UnscopedQueryError);
    expect((await notes.in(A).findOne({ _id: 'n1' }))?.text).not.toBe('y');
  });

  it('does not accept operators in place of the scope', async () => {
    const { model } = notes;
    await expect(model.find({ org_id: { $ne: 'nobody' }, workspace_id: 'ws_a' }).exec()).rejects.toThrow(
      /org_id/,
    );
    await expect(
      model.find({ org_id: 'org_a', workspace_id: { $in: ['ws_a', 'ws_b'] } }).exec(),
    ).rejects.toThrow(/workspace_id/);
    // null is a value only where the scope field is nullable
    await expect(model.find({ org_id: null, workspace_id: 'ws_a' }).exec()).rejects.toThrow(/org_id/);
  });

  it('refuses documents written without their scope', async () => {
    const { model } = notes;
    await expect(model.create({ _id: 'n9', text: 'nowhere' })).rejects.toThrow(UnscopedQueryError);
    await expect(model.insertMany([{ _id: 'n9', org_id: 'org_a', text: 'x' }])).rejects.toThrow(
      UnscopedQueryError,
    );
    await expect(
      model.bulkWrite([{ updateOne: { filter: { _id: 'n1' }, update: { $set: { text: 'z' } } } }]),
    ).rejects.toThrow(UnscopedQueryError);
    expect(await notes.in(A).countDocuments({ _id: 'n9' })).toBe(0);
  });

  it('lets a named unscoped query through, and only with a reason', async () => {
    const found = await notes.unscoped('test: look up by text across tenants').findOne({ text: 'b1' });
    expect(found?._id).toBe('n3');
    const raw = await unscoped('test: raw query', notes.model.find({ _id: { $in: ['n1', 'n3'] } })).exec();
    expect(raw).toHaveLength(2);
    expect(() => notes.unscoped('  ').findOne({})).toThrow(/must name its reason/);
  });
});
