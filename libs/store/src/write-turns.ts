import type { Connection, Model } from 'mongoose';

/**
 * FerretDB's SQLite backend takes one writer per database file at a time, and concurrent writers wait for
 * it by sleeping and polling: eight writers at once get a third of what one gets. So on FerretDB the
 * scoped repositories' writes take turns per connection (a service's database) here instead, one at a
 * time. Turns go round the tenants that have writes waiting, in order within each, so a tenant writing a
 * lot delays another's single write by one of its own, not by its whole queue; and inserts into one
 * collection that wait for a turn go to the server together, as one `insertMany` (one SQLite transaction).
 */

type Write = () => Promise<void>;

interface Turns {
  /** Waiting writes by tenant, and the tenants in turn order. */
  waiting: Map<string, Write[]>;
  ring: string[];
  busy: boolean;
  /** Per model, the inserts that will go together at the next turn they get. */
  inserts: Map<Model<unknown>, PendingInsert[]>;
}

interface PendingInsert {
  doc: Record<string, unknown>;
  resolve(): void;
  reject(error: unknown): void;
}

const turnsByConnection = new WeakMap<Connection, Turns>();
/** Documents per `insertMany`. */
const MAX_BATCH = 100;
/** The turn key of inserts, which go together whichever tenants they are for. */
const INSERTS = '\u0000inserts';

function turnsOf(connection: Connection): Turns {
  let turns = turnsByConnection.get(connection);
  if (!turns) {
    turns = { waiting: new Map(), ring: [], busy: false, inserts: new Map() };
    turnsByConnection.set(connection, turns);
  }
  return turns;
}

function next(turns: Turns): void {
  if (turns.busy) return;
  const tenant = turns.ring.shift();
  if (tenant === undefined) return;
  const queue = turns.waiting.get(tenant) as Write[];
  const write = queue.shift() as Write;
  if (queue.length > 0) turns.ring.push(tenant);
  else turns.waiting.delete(tenant);
  turns.busy = true;
  void write().finally(() => {
    turns.busy = false;
    next(turns);
  });
}

/** Runs `write` in a turn of this connection's writes; `tenant` names whose turn it takes. */
export function inWriteTurn<T>(connection: Connection, tenant: string, write: () => Promise<T>): Promise<T> {
  const turns = turnsOf(connection);
  return new Promise<T>((resolve, reject) => {
    const queued: Write = () => write().then(resolve, reject);
    const queue = turns.waiting.get(tenant);
    if (queue) queue.push(queued);
    else {
      turns.waiting.set(tenant, [queued]);
      turns.ring.push(tenant);
    }
    next(turns);
  });
}

/**
 * Inserts `doc` (already validated, as the driver will store it) in a write turn, with the other inserts
 * into the same collection that wait for that turn. A duplicate key fails only its own document.
 */
export function insertInTurn(model: Model<unknown>, doc: Record<string, unknown>): Promise<void> {
  const turns = turnsOf(model.db);
  const open = turns.inserts.get(model);
  const batch = open && open.length < MAX_BATCH ? open : [];
  const done = new Promise<void>((resolve, reject) => batch.push({ doc, resolve, reject }));
  if (batch !== open) {
    turns.inserts.set(model, batch);
    void inWriteTurn(model.db, INSERTS, async () => {
      // From here on, later inserts wait for the next turn.
      if (turns.inserts.get(model) === batch) turns.inserts.delete(model);
      await insertAll(model, batch);
    });
  }
  return done;
}

async function insertAll(model: Model<unknown>, pending: PendingInsert[]): Promise<void> {
  try {
    await model.collection.insertMany(
      pending.map((p) => p.doc),
      { ordered: false },
    );
    for (const p of pending) p.resolve();
  } catch (error) {
    const failed = new Map<number, unknown>();
    for (const writeError of writeErrorsOf(error)) failed.set(writeError.index, writeError);
    // Anything but per-document errors (the server unreachable): every insert of the batch failed.
    for (const [index, p] of pending.entries()) {
      if (failed.size === 0) p.reject(error);
      else if (failed.has(index)) p.reject(failed.get(index));
      else p.resolve();
    }
  }
}

function writeErrorsOf(error: unknown): { index: number; code?: unknown }[] {
  const errors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
  return list.filter((e): e is { index: number } => typeof (e as { index?: unknown }).index === 'number');
}
