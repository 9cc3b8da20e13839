#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner. Node 20's
// `node --test` takes explicit file names, so we find them here; no files, or no tests run,
// is a failure, never a silent pass.
//
// Two files at a time on two cores or more (TEST_CONCURRENCY says otherwise), except a file whose
// first line says "test-runner: alone": those start headless Chromium, which can starve the file
// beside it (CI saw a healthy SSE stream's gap read as 954 ms next to one), so they run by
// themselves. A file whose first line says "test-runner: long" runs for over a minute on purpose: it
// starts before the short ones, so that the run does not end with it alone. Each file's report is
// printed whole when it ends, then the slowest files.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve('dist');
// Patterns pick files by part of their path; one that starts with "!" leaves those out.
const only = process.argv.slice(2).filter((p) => !p.startsWith('!'));
const except = process.argv.slice(2).filter((p) => p.startsWith('!')).map((p) => p.slice(1));

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : find(full);
    return name.endsWith('.test.js') ? [full] : [];
  });
}

const files = find(root)
  .filter((file) => only.length === 0 || only.some((pattern) => file.includes(pattern)))
  .filter((file) => !except.some((pattern) => file.includes(pattern)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files found under ${root}${only.length ? ` matching ${only.join(', ')}` : ''}`);
  process.exit(1);
}

const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? Math.min(2, os.availableParallelism())));
const marked = (word) => new Set(files.filter((file) => readFileSync(file, 'utf8').startsWith(`// test-runner: ${word} `)));
const alone = marked('alone');
const long = marked('long');
// The files that must run alone go first, one by one; then the rest share the cores, long ones first.
const queue = [...alone, ...long, ...files.filter((f) => !alone.has(f) && !long.has(f))];
console.error(`run-tests: ${files.length} test file(s), ${concurrency} at a time (${alone.size} alone)`);

const totals = { pass: 0, fail: 0, skipped: 0 };
const failedFiles = [];
const took = [];

function runFile(file) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      const count = (word) => Number(new RegExp(`ℹ ${word} (\\d+)`).exec(output)?.[1] ?? 0);
      totals.pass += count('pass');
      totals.fail += count('fail');
      totals.skipped += count('skipped');
      const name = path.relative(root, file);
      took.push([name, seconds]);
      if (code !== 0) failedFiles.push(`${name} (${signal ? `killed by ${signal}` : `exit ${code}`})`);
      process.stdout.write(`\n── ${name} · ${seconds.toFixed(1)} s${code === 0 ? '' : ' · FAILED'}\n${output}`);
      resolve();
    });
  });
}

const running = new Set();
for (const file of queue) {
  const solo = alone.has(file);
  while (running.size >= (solo ? 1 : concurrency)) await Promise.race(running);
  const run = runFile(file).then(() => running.delete(run));
  running.add(run);
  if (solo) await run;
}
await Promise.all(running);

took.sort((a, b) => b[1] - a[1]);
console.log(`\nslowest files: ${took.slice(0, 8).map(([name, s]) => `${name} ${s.toFixed(0)} s`).join(' · ')}`);
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped in ${files.length} file(s)`);
if (failedFiles.length > 0) {
  console.error(`run-tests: failed: ${failedFiles.join(', ')}`);
  process.exit(1);
}
if (totals.pass === 0) {
  console.error('run-tests: no test passed: treating as a failure');
  process.exit(1);
}
