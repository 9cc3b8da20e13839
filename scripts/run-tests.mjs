#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner. Node 20's
// `node --test` takes explicit file names, so we find them here; no files, or no tests run,
// is a failure, never a silent pass.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
console.error(`run-tests: ${files.length} test file(s)`);

// One file at a time unless TEST_CONCURRENCY says more. Two at a time halves the suite's time on
// two cores, but a file beside a Chromium test can starve: CI saw an SSE stream's healthy gap
// read as 954 ms, and a browser leg's cold start cut short.
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 1);
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const passed = Number(/ℹ pass (\d+)/.exec(output)?.[1] ?? 0);
  const failed = Number(/ℹ fail (\d+)/.exec(output)?.[1] ?? 0);
  const skipped = Number(/ℹ skipped (\d+)/.exec(output)?.[1] ?? 0);
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (passed === 0) {
    console.error('run-tests: no test passed: treating as a failure');
    process.exit(1);
  }
  process.exit(code ?? 1);
});
