// Fuzzing the compile step with mutations of the shipped config and probe files (fixed seed, so
// a failure is reproducible): every case either fails `check` with positioned messages — never
// a stack trace, never a hang — or is accepted and then runs, every accepted probe producing a
// result that is not `internal`, against the real demo service.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configDir } from '../../test/config-dir.js';
import { startDemoService } from '../demo/service.js';
import { createRedactor } from '../logging/redact.js';
import { runProbe } from '../probers/run-probe.js';
import { formatDiagnostic } from './diagnostics.js';
import { loadConfig } from './load.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CASES = 220;
const SEED = 0x5eed;

/** mulberry32: a small seeded generator, so the corpus is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Values people and attackers write where a value is expected.
const HOSTILE = [
  '', '0', '-1', '1e309', '0ms', '999999999999d', '10ms', '1h', 'NaN', 'null', '~', '[]', '{}', 'yes',
  '"${NOPE"', '"${file:/dev/zero}"', '"${UNSET_VARIABLE}"', '"$.items[?(@.id==1)]"', '"$["', '"/([a-z/"', '"/.*/"',
  '"one\\r\\ntwo"', '99999999GiB', '1KiB', '"61 * * * *"', '"0 0 30 2 *"', 'ftp://x/', 'http://', 'ws://127.0.0.1:1/',
  '*undefined_alias', '&anchor x', '"\\u0000"', '!!binary aGk=', `"${'x'.repeat(5000)}"`, '100000', '65536', 'phase.frist_byte', 'rtt_p95',
  // The classes of the last round: patterns that backtrack or that RE2 cannot run, templates that
  // name nothing, credentials in URLs, numbers JSON cannot carry, deep nesting.
  '"^(a+)+$"', '"(a)\\\\1"', '"a(?=b)"', '"/zz|.*/"', '"/zz)|(.*/"', '"{{run.idd}}"', '"{{capture.nope}}"', '"http://u:p@127.0.0.1:1/"',
  '.nan', '.inf', '1e400', `${'['.repeat(200)}${']'.repeat(200)}`,
];

/** Headers, subprotocols and auth the client owns or cannot send. */
const HOSTILE_ENTRIES = [
  'headers: { transfer-encoding: chunked }', 'headers: { content-length: "5" }', 'headers: { expect: 100-continue }', 'headers: { upgrade: h2c }',
  'subprotocols: ["a b"]', 'subprotocols: ["a,b"]', 'subprotocols: [x, x]', 'auth: { token: "two words", in: subprotocol }', 'auth: { token: tokentoken, name: "bad name" }',
  'body: a', 'json: .nan', 'method: HEAD', 'detect: { flapWindow: 0s }', 'severity: { ProbeFailling: warning }',
];

type Mutation = (lines: string[], next: () => number) => string[];

const pick = <T>(list: readonly T[], next: () => number): T => list[Math.floor(next() * list.length)] as T;

const MUTATIONS: Mutation[] = [
  // Replace the value after a key with a hostile one.
  (lines, next) => {
    const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*-?\s*[A-Za-z$"][^:#]*:\s*\S/.test(l));
    if (candidates.length === 0) return lines;
    const [line, index] = pick(candidates, next);
    const copy = [...lines];
    copy[index] = line.replace(/:(\s*).*$/, `:$1${pick(HOSTILE, next)}`);
    return copy;
  },
  // Drop a line.
  (lines, next) => lines.filter((_, i) => i !== Math.floor(next() * lines.length)),
  // Duplicate a line.
  (lines, next) => {
    const i = Math.floor(next() * lines.length);
    return [...lines.slice(0, i + 1), lines[i] ?? '', ...lines.slice(i + 1)];
  },
  // Cut the file short.
  (lines, next) => lines.slice(0, Math.max(1, Math.floor(next() * lines.length))),
  // Shift a line's indentation.
  (lines, next) => {
    const i = Math.floor(next() * lines.length);
    const copy = [...lines];
    copy[i] = next() < 0.5 ? `  ${copy[i] ?? ''}` : (copy[i] ?? '').replace(/^ {1,2}/, '');
    return copy;
  },
  // Add an unknown key.
  (lines, next) => [...lines, `${pick(['retries', 'timeoutt', 'expect', 'every', 'kind'], next)}: ${pick(HOSTILE, next)}`],
  // Add a hostile entry at the top level (headers the client owns, subprotocols, auth, body).
  (lines, next) => [...lines, pick(HOSTILE_ENTRIES, next)],
];

it(`${CASES} mutations of the shipped files: refused with positions, or accepted and runnable`, { timeout: 240_000 }, async () => {
  const demo = await startDemoService({ port: 0, jwtSecret: 'fuzz-jwt-secret-0123456789abcdefghij', faultToken: 'fuzz-fault-token-0123456789' });
  const port = new URL(demo.url).port;
  const local = (text: string) => text.replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`);
  const config = local(readFileSync(path.join(ROOT, 'config/flowprobe.yaml'), 'utf8')).replace(/^probesDir: .*$/m, 'probesDir: probes').replace(/^stateDir: .*$/m, 'stateDir: state');
  const probeFiles = readdirSync(path.join(ROOT, 'probes')).filter((f) => f.endsWith('.yaml'));
  const corpus = probeFiles.map((file) => ({ file, text: local(readFileSync(path.join(ROOT, 'probes', file), 'utf8')) }));
  const next = random(SEED);
  const env = { DEMO_JWT_SECRET: 'fuzz-jwt-secret-0123456789abcdefghij' };
  let refusedCount = 0;
  let acceptedRuns = 0;
  const runs: Array<Promise<void>> = [];
  try {
    for (let n = 0; n < CASES; n++) {
      const mutateConfig = next() < 0.25;
      const target = pick(corpus, next);
      const mutation = pick(MUTATIONS, next);
      const mutated = mutation((mutateConfig ? config : target.text).split('\n'), next).join('\n');
      const dir = configDir(mutateConfig ? mutated : config, { [target.file]: mutateConfig ? target.text : mutated });
      const started = Date.now();
      const result = loadConfig(dir.configFile, { env });
      const tookMs = Date.now() - started;
      const label = `case ${n} (${mutateConfig ? 'config' : target.file}):\n${mutated}`;
      assert.ok(tookMs < 5_000, `${label}\nloading took ${tookMs} ms`);
      if (!result.ok) {
        refusedCount++;
        for (const d of result.diagnostics) {
          const line = formatDiagnostic(d);
          assert.doesNotMatch(line, /internal error|\n\s+at /, `${label}\n${line}`);
          assert.ok(d.line > 0 || /^cannot read/.test(d.message), `${label}\nnot positioned: ${line}`);
        }
        continue;
      }
      const redact = createRedactor(result.config.secrets);
      for (const spec of result.config.probes) {
        acceptedRuns++;
        runs.push(
          runProbe(spec, { signal: AbortSignal.timeout(Math.min(spec.timeoutMs, 3_000)), runId: `fuzz-${n}`, redact }, { slot: 0, startedAt: Date.now() }).then((run) => {
            assert.ok(run.ok || run.failure.code !== 'internal', `${label}\nprobe ${spec.name} ran into a bug: ${run.ok ? '' : run.failure.message}`);
          }),
        );
        // Bounded: at most 8 runs in flight against the demo.
        if (runs.length >= 8) await Promise.all(runs.splice(0));
      }
    }
    await Promise.all(runs);
  } finally {
    await demo.close();
  }
  console.log(`fuzz: ${CASES} cases, ${refusedCount} refused with positions, ${CASES - refusedCount} accepted, ${acceptedRuns} probe runs, none internal`);
  assert.ok(refusedCount > 20 && refusedCount < CASES, `a corpus that exercises both paths (${refusedCount} refused)`);
});
