// What the run verdict costs: CPU per HTTP probe run against a local target, with fail limits
// only (the baseline) and with degrade limits on the duration and every phase beside them
// (degradeWhen: more checks, the verdict, the degradation headline), alternating in rounds in
// the same process so both see the same machine.
//   npm run bench:verdict -- --runs 2000 --rounds 5
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { specOf } from '../test/probe-spec.js';
import { createRedactor } from '../src/logging/redact.js';
import { runProbe } from '../src/probers/run-probe.js';
import { arg, table } from './lib.js';

const runs = arg('runs', 2_000);
const rounds = arg('rounds', 5);

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const baseline = specOf('http', { url, expect: { status: 200, maxDuration: '2s', json: { '$.status': 'ok' } } }, 2_000);
const withVerdict = specOf(
  'http',
  { url, expect: { status: 200, maxDuration: '2s', json: { '$.status': 'ok' }, phases: { connect: '1s' } }, degradeWhen: { maxDuration: '1s', phases: { dns: '1s', connect: '1s', first_byte: '1s', download: '1s' } } },
  2_000,
);
const redact = createRedactor([]);

async function cpuPerRun(spec: typeof baseline): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const now = Date.now();
    const r = await runProbe(spec, { signal: AbortSignal.timeout(2_000), runId: `v${i}`, redact }, { slot: now, startedAt: now });
    if (r.verdict !== 'ok') throw new Error(`run ${i}: ${r.verdict}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / runs;
}

await cpuPerRun(baseline); // warm up both paths
await cpuPerRun(withVerdict);
const rows: Array<Record<string, string | number>> = [];
for (let round = 1; round <= rounds; round++) {
  const a = await cpuPerRun(baseline);
  const b = await cpuPerRun(withVerdict);
  rows.push({ round, 'fail limits only µs/run': a.toFixed(1), 'with degrade limits µs/run': b.toFixed(1), 'difference µs': (b - a).toFixed(1) });
}
server.close();
console.log(`CPU per HTTP probe run (in-process runProbe, ${runs} runs per cell, Node ${process.version})`);
console.log(table(rows));
const mean = (key: string) => rows.reduce((sum, r) => sum + Number(r[key]), 0) / rows.length;
const spreadA = Math.max(...rows.map((r) => Number(r['fail limits only µs/run']))) - Math.min(...rows.map((r) => Number(r['fail limits only µs/run'])));
console.log(`mean: ${mean('fail limits only µs/run').toFixed(1)} vs ${mean('with degrade limits µs/run').toFixed(1)} µs/run; the baseline alone varies by ${spreadA.toFixed(1)} µs between rounds`);
