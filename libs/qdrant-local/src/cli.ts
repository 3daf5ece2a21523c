import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './start.js';

/**
 * Standalone server: `qdrant-local --port 6333 --data ./.data/qdrant [--host 127.0.0.1] [--api-key KEY]`.
 * Prints one JSON line when listening; SIGTERM or SIGINT closes cleanly (log flushed) and exits 0.
 */
interface CliConfig {
  port: number;
  host: string;
  dataDir: string | undefined;
  apiKey: string | undefined;
  compactBytes: number | undefined;
}

function readConfig(argv: string[], env: NodeJS.ProcessEnv): CliConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '6333' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string' },
      'api-key': { type: 'string' },
      /**
       * Smallest log size that triggers a snapshot (default 64 MiB; the log must also pass the last
       * snapshot's size); small values exercise compaction in tests.
       */
      'compact-bytes': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`invalid --port ${values.port}`);
  const compactBytes = values['compact-bytes'] === undefined ? undefined : Number(values['compact-bytes']);
  if (compactBytes !== undefined && !(compactBytes > 0)) throw new Error('invalid --compact-bytes');
  // npm runs workspace scripts inside the package folder; resolve a relative --data against where npm was invoked.
  const base = env.INIT_CWD ?? process.cwd();
  return {
    port,
    host: values.host,
    dataDir: values.data ? resolve(base, values.data) : undefined,
    apiKey: values['api-key'] ?? env.QDRANT__SERVICE__API_KEY ?? undefined,
    compactBytes,
  };
}

async function main(): Promise<void> {
  let config: CliConfig;
  try {
    config = readConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(
      `${JSON.stringify({ msg: 'qdrant-local: bad arguments', error: (error as Error).message })}\n`,
    );
    process.exit(2);
  }
  const server = await startServer(
    {
      port: config.port,
      host: config.host,
      ...(config.dataDir ? { dataDir: config.dataDir } : {}),
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    },
    config.compactBytes ? { compactBytes: config.compactBytes } : {},
  );
  process.stdout.write(`${JSON.stringify({ msg: 'qdrant-local listening', url: server.url })}\n`);
  const stop = (signal: string) => {
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `${JSON.stringify({ msg: 'qdrant-local: close failed', signal, error: String(error) })}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ msg: 'qdrant-local: failed to start', error: String(error) })}\n`);
  process.exit(1);
});
