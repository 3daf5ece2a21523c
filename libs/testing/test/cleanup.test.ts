import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/dies-with-server.ts', import.meta.url));
const run = promisify(execFile);

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(!socket.destroy()));
    socket.once('error', () => resolve(false));
  });

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('servers die with the process that started them', () => {
  it.each(['SIGKILL', 'SIGTERM'])('even when it ends by %s', async (signal) => {
    const args = ['--conditions=source', '--import', 'tsx', fixture, signal];
    const { stdout } = await run(process.execPath, args).catch((err: { stdout: string }) => err);
    const { dir, port } = JSON.parse(stdout.trim().split('\n')[0] ?? '{}') as { dir: string; port: number };
    expect(dir).toMatch(/kb-test-redis-/);
    expect(await eventually(async () => !(await accepts(port)))).toBe(true);
    expect(await eventually(async () => !existsSync(dir))).toBe(true);
  });
});
