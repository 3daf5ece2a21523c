import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * FerretDB v1.24's SQLite backend looks a document up by `_ferretdb_sjson->'$._id'`, while the `_id` index it
 * creates is on `_ferretdb_sjson->"_id"`. SQLite only uses an index whose expression is written the same way,
 * so every lookup, update and delete by `_id` reads the whole collection: on a collection of a few thousand
 * documents each one costs tens of milliseconds. This adds, to every collection table of the databases in
 * FerretDB's folder, an index on the expression its queries use (`<table>_kb_id`). FerretDB does not know of
 * it (it is not in its metadata, `listIndexes` does not show it) and drops it with the table.
 *
 * Collections are created as services start, so each database file is looked at as soon as it appears and
 * then less and less often (every 4 s at the least).
 */
export interface IndexKeeper {
  stop(): Promise<void>;
}

const FIRST_LOOK_MS = 100;
const LONGEST_WAIT_MS = 4_000;

/** Statements creating the missing indexes of one database (empty when none is missing). */
const MISSING = `SELECT 'CREATE INDEX IF NOT EXISTS "' || replace(name, '"', '""') || '_kb_id" ON "' ||
  replace(name, '"', '""') || '" (_ferretdb_sjson->''$._id'');'
FROM sqlite_master
WHERE type = 'table' AND sql LIKE '%_ferretdb_sjson TEXT%'
  AND name || '_kb_id' NOT IN (SELECT name FROM sqlite_master WHERE type = 'index');`;

/** A `file:` URI that opens an existing database only (a plain path would create a missing one). */
function existingOnly(path: string, mode: 'ro' | 'rw'): string {
  return `file:${path.split('/').map(encodeURIComponent).join('/')}?mode=${mode}`;
}

export function keepFerretIdIndexes(dir: string, sqlite3: string): IndexKeeper {
  const files = new Map<string, { due: number; wait: number }>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  async function look(path: string): Promise<boolean> {
    const { stdout } = await run(sqlite3, ['-batch', '-noheader', existingOnly(path, 'ro'), MISSING], {
      timeout: 10_000,
    });
    const statements = stdout.trim();
    if (statements === '') return false;
    await run(sqlite3, ['-batch', existingOnly(path, 'rw'), statements], { timeout: 60_000 });
    return true;
  }

  async function round(): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const present = new Set(names.filter((name) => name.endsWith('.sqlite')).map((name) => join(dir, name)));
    for (const path of files.keys()) if (!present.has(path)) files.delete(path);
    for (const path of present) {
      if (stopped) return;
      const state = files.get(path) ?? { due: 0, wait: FIRST_LOOK_MS };
      files.set(path, state);
      if (Date.now() < state.due) continue;
      // A failed look (the database being dropped, or not yet complete) waits like one that found nothing.
      const changed = await look(path).catch(() => false);
      state.wait = changed ? FIRST_LOOK_MS : Math.min(state.wait * 2, LONGEST_WAIT_MS);
      state.due = Date.now() + state.wait;
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = round().finally(schedule);
    }, FIRST_LOOK_MS);
    timer.unref();
  };
  current = round().finally(schedule);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current.catch(() => undefined);
    },
  };
}
