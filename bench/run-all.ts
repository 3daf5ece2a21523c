import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Runs every `*.bench.ts` in this folder in name order; each exports `default async function run()`. */
const dir = dirname(fileURLToPath(import.meta.url));
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()) {
  const bench = (await import(pathToFileURL(join(dir, file)).href)) as { default?: () => Promise<void> };
  if (typeof bench.default !== 'function') throw new Error(`${file} does not export a default run()`);
  await bench.default();
}
