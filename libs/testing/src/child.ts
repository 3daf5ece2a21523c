import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { watch } from './watchdog.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output lines are kept and whose exit is a promise. */
export interface Child {
  readonly pid: number;
  /** stdout and stderr lines, interleaved as they arrive (at least the newest `maxLines`, at most twice as many). */
  readonly lines: string[];
  readonly exited: Promise<ExitInfo>;
  running(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL when it has not exited after `timeoutMs`. */
  stop(timeoutMs: number): Promise<ExitInfo>;
  /** The last `n` output lines, for error messages. */
  tail(n?: number): string;
}

export interface LaunchOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Own process group: a terminal's Ctrl-C then reaches only the parent, which stops the child in order. */
  detached?: boolean;
  maxLines?: number;
  /** Signal sent if the parent exits while the child still runs (SIGKILL for throw-away data). */
  exitSignal?: NodeJS.Signals;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

// Children must not outlive the harness. The `exit` listener covers a normal exit at once (it cannot wait, so
// it only signals and removes what it can); the watchdog also covers deaths by signal.
const liveChildren = new Map<ChildProcess, NodeJS.Signals>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [proc, signal] of liveChildren) {
      try {
        proc.kill(signal);
      } catch {
        // already gone
      }
    }
    for (const dir of ownedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: a dying server may still be writing
      }
    }
  });
}

/** Registers a folder the harness created, removed at the latest when the parent process exits. */
export function trackOwnedDir(dir: string): void {
  installExitHook();
  ownedDirs.add(dir);
  watch.dir(dir);
}

export function untrackOwnedDir(dir: string): void {
  ownedDirs.delete(dir);
  watch.dirGone(dir);
}

/**
 * Appends `line`, keeping at least the newest `max` lines: the oldest go in batches once twice as many are
 * kept, since dropping one line at a time moves every other line each time (15 µs a line at 5,000 lines, in
 * the process a benchmark measures the platform from).
 */
export function keepNewest(lines: string[], line: string, max: number): void {
  lines.push(line);
  if (lines.length > 2 * max) lines.splice(0, lines.length - max);
}

function splitLines(stream: Readable, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) onLine(part.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
    rest = '';
  });
}

export function launch(command: string, args: readonly string[], opts: LaunchOptions = {}): Child {
  installExitHook();
  const maxLines = opts.maxLines ?? 500;
  const lines: string[] = [];
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: opts.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exitSignal = opts.exitSignal ?? 'SIGKILL';
  liveChildren.set(proc, exitSignal);
  if (proc.pid !== undefined) watch.child(proc.pid, exitSignal);

  const push = (line: string, stream: 'stdout' | 'stderr') => {
    keepNewest(lines, line, maxLines);
    opts.onLine?.(line, stream);
  };
  if (proc.stdout) splitLines(proc.stdout, (l) => push(l, 'stdout'));
  if (proc.stderr) splitLines(proc.stderr, (l) => push(l, 'stderr'));

  let done = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    const finish = (info: ExitInfo) => {
      if (done) return;
      done = true;
      liveChildren.delete(proc);
      if (proc.pid !== undefined) watch.childGone(proc.pid);
      resolve(info);
    };
    proc.once('exit', (code, signal) => finish({ code, signal }));
    proc.once('error', (err) => {
      push(`spawn ${command} failed: ${err.message}`, 'stderr');
      if (proc.pid === undefined || proc.exitCode !== null) finish({ code: null, signal: null });
    });
  });

  const child: Child = {
    pid: proc.pid ?? -1,
    lines,
    exited,
    running: () => !done,
    kill(signal) {
      if (!done) proc.kill(signal);
    },
    async stop(timeoutMs) {
      if (done) return exited;
      proc.kill('SIGTERM');
      if ((await within(exited, timeoutMs)) === 'timeout' && !done) proc.kill('SIGKILL');
      return exited;
    },
    tail(n = 30) {
      return lines.slice(-n).join('\n');
    },
  };
  return child;
}

/** Waits for `promise` at most `ms`, without leaving a timer that keeps the process alive. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Gives a just-exited child a moment to flush its last output lines before they go into an error. */
export function settle(ms = 100): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
