#!/usr/bin/env node
// Runs every package's tests through turbo and ends with one summary line, `N passed, N failed`, summed
// over the vitest runs, so a reader (or CI) sees the totals without scrolling. Exit code is turbo's.
import { spawn } from 'node:child_process';

const args = ['turbo', 'run', 'test', '--concurrency=2', '--continue', ...process.argv.slice(2)];
const child = spawn('npx', args, {
  stdio: ['inherit', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
const totals = { passed: 0, failed: 0, skipped: 0 };
let pending = '';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
function count(line) {
  const plain = line.replace(ANSI, '');
  const match = /\bTests\s+(.*)\(\d+\)\s*$/.exec(plain);
  if (!match) return;
  for (const [, n, kind] of (match[1] ?? '').matchAll(/(\d+) (passed|failed|skipped)/g))
    totals[kind] += Number(n);
}

child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  lines.forEach(count);
});

child.on('close', (code, signal) => {
  count(pending);
  const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
  console.log(`\n${totals.passed} passed, ${totals.failed} failed${skipped}`);
  process.exit(code ?? (signal ? 1 : 0));
});
