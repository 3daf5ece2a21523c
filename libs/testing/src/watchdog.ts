import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A tiny detached process that outlives this one and cleans up after it. An `exit` listener is not enough:
 * a process ended by a signal (vitest stops its fork workers that way) or by SIGKILL runs no listener, and
 * its servers would keep running. The watchdog reads the live children and owned folders from a pipe; when
 * the pipe closes (this process ended, however it ended), it signals the children, waits for them (SIGKILL
 * after 5 s) and removes the folders.
 */
const WATCHDOG = `
const { readFileSync, rmSync } = require('node:fs');
const children = new Map();
const dirs = new Set();
let buf = '';
const zombie = (pid) => { try { return /\\) Z /.test(readFileSync('/proc/' + pid + '/stat', 'utf8')); } catch { return false; } };
const alive = (pid) => { try { process.kill(pid, 0); return !zombie(pid); } catch { return false; } };
const signal = (pid, sig) => { try { process.kill(pid, sig); } catch {} };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.add) children.set(m.add, m.signal);
    if (m.remove) children.delete(m.remove);
    if (m.dir) dirs.add(m.dir);
    if (m.undir) dirs.delete(m.undir);
  }
});
process.stdin.on('end', async () => {
  for (const [pid, sig] of children) signal(pid, sig);
  const deadline = Date.now() + 5000;
  while ([...children.keys()].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of children.keys()) signal(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  for (const dir of dirs) { try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch {} }
  process.exit(0);
});
`;

let watchdog: ChildProcess | undefined;

function send(message: Record<string, string | number>): void {
  if (!watchdog) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG], {
      detached: true, // not in the terminal's process group: a Ctrl-C must not take it down with the rest
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: process.env.PATH ?? '' },
    });
    watchdog.on('error', () => {});
    watchdog.stdin?.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as { unref?: () => void } | null)?.unref?.();
  }
  watchdog.stdin?.write(`${JSON.stringify(message)}\n`);
}

export const watch = {
  child: (pid: number, signal: NodeJS.Signals) => send({ add: pid, signal }),
  childGone: (pid: number) => send({ remove: pid }),
  dir: (dir: string) => send({ dir }),
  dirGone: (dir: string) => send({ undir: dir }),
};
