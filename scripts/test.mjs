#!/usr/bin/env node
// Runs every package's tests through turbo and ends with the failures, reprinted per package (turbo
// interleaves the packages' output, so a failure's report would otherwise sit far up the log), then one
// summary line, `N passed, N failed`, summed over the vitest runs. Exit code is turbo's.
import { spawn } from 'node:child_process';

const args = ['turbo', 'run', 'test', '--concurrency=2', '--continue', ...process.argv.slice(2)];
const child = spawn('npx', args, {
  stdio: ['inherit', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
const totals = { passed: 0, failed: 0, skipped: 0 };
/** Each turbo task's own lines (`@kb/usage:test: …` without the prefix), to reprint the failed ones. */
const byTask = new Map();
const failedTasks = new Set();
let pending = '';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
function take(line) {
  const plain = line.replace(ANSI, '');
  const prefixed = /^(@?[\w./-]+):test: ?(.*)$/.exec(plain);
  if (prefixed) {
    const [, task = '', rest = ''] = prefixed;
    if (!byTask.has(task)) byTask.set(task, []);
    byTask.get(task).push(rest);
  }
  const failed = /^(@?[\w./-]+)#test: .*ERROR/.exec(plain) ?? /^Failed:\s+(@?[\w./-]+)#test/.exec(plain);
  if (failed?.[1]) failedTasks.add(failed[1]);
  const match = /\bTests\s+(.*)\(\d+\)\s*$/.exec(plain);
  if (!match) return;
  for (const [, n, kind] of (match[1] ?? '').matchAll(/(\d+) (passed|failed|skipped)/g))
    totals[kind] += Number(n);
}

/** From vitest's first "Failed Tests" or "Unhandled Errors" banner on, or else the task's last lines. */
function failureReport(lines) {
  const start = lines.findIndex((line) => /⎯{3,}\s*(Failed Tests|Failed Suites|Unhandled)/.test(line));
  const from = start >= 0 ? start : Math.max(0, lines.length - 150);
  return lines.slice(from, from + 400);
}

child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  lines.forEach(take);
});

child.on('close', (code, signal) => {
  take(pending);
  for (const task of failedTasks) {
    console.log(`\n──── ${task}: what failed ────`);
    for (const line of failureReport(byTask.get(task) ?? [])) console.log(line);
  }
  const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
  console.log(`\n${totals.passed} passed, ${totals.failed} failed${skipped}`);
  process.exit(code ?? (signal ? 1 : 0));
});
