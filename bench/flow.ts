// Flow overhead: leg latencies as the flow probe measures them (from its injection) beside the
// demo service's own server-side times for the same marked events (ingest received → event
// written to the stream / sent on the socket), at 1 and at 50 flows per second. The difference
// is the probe's measurement error (inject transit, delivery transit, its own processing).
// Also the probe's own cost per run: CPU ms, connections.
//   node dist/bench/flow.js [--seconds 20]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { specOf } from '../test/probe-spec.js';
import type { HopTimes } from '../src/demo/service.js';
import { createRedactor } from '../src/logging/redact.js';
import { runProbe } from '../src/probers/run-probe.js';
import type { FlowDetail } from '../src/probers/flow/kind.js';
import { arg, summarize, table } from './lib.js';

const seconds = arg('seconds', 20);
const secret = 'bench-flow-secret-0123456789abcdefg';
const server = fork(fileURLToPath(new URL('./demo-server.js', import.meta.url)), [secret], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const { url, wsUrl } = (await new Promise((resolve) => server.once('message', resolve))) as { url: string; wsUrl: string };

const spec = specOf('flow', {
  watch: [
    { name: 'stream', sse: { url: `${url}/api/stream` } },
    { name: 'alerts', websocket: { url: wsUrl, auth: { jwt: { secret, in: 'query' } } } },
  ],
  steps: [
    { inject: { url: `${url}/api/ingest`, json: { marker: '{{run.id}}', value: 1 } } },
    { await: { on: 'stream', match: { json: { '$.marker': '{{run.id}}' } }, within: '2s' } },
    { await: { on: 'alerts', match: { json: { '$.event.marker': '{{run.id}}' } }, within: '2s' } },
  ],
}, 5000);

async function load(perSecond: number) {
  const errors: Record<'stream' | 'alerts', number[]> = { stream: [], alerts: [] };
  const measured: Record<'stream' | 'alerts', number[]> = { stream: [], alerts: [] };
  let failed = 0;
  let runs = 0;
  const cpu0 = process.cpuUsage();
  const inFlight: Array<Promise<void>> = [];
  const until = Date.now() + seconds * 1000;
  for (let i = 0; Date.now() < until; i++) {
    const runId = `bench-${perSecond}-${i}-${Date.now()}`;
    inFlight.push(
      (async () => {
        const now = Date.now();
        const r = await runProbe(spec, { signal: AbortSignal.timeout(5000), runId, redact: createRedactor([]) }, { slot: now, startedAt: now });
        runs++;
        if (!r.ok) return void failed++;
        // Timed from the send, like the hop times the demo records from its ingest.
        const legs = (r.detail as FlowDetail).legsFromSend;
        const hops = (await (await fetch(`${url}/api/hop-times?marker=${runId}`)).json()) as HopTimes | null;
        if (!hops) return;
        for (const [leg, at] of [['stream', hops.streamAt], ['alerts', hops.wsAt]] as const) {
          const probe = legs[leg];
          if (probe === undefined || at === undefined) continue;
          measured[leg].push(probe);
          errors[leg].push(probe - (at - hops.ingestAt));
        }
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
  await Promise.all(inFlight);
  const cpu = process.cpuUsage(cpu0);
  return { perSecond, runs, failed, errors, measured, cpuMsPerRun: (cpu.user + cpu.system) / 1000 / Math.max(1, runs) };
}

console.log(`flow overhead: ${seconds}s at each rate, demo service in its own process, Node ${process.version}`);
const rows: Array<Record<string, string | number>> = [];
try {
  for (const rate of [1, 50]) {
    const r = await load(rate);
    for (const leg of ['stream', 'alerts'] as const) {
      const m = summarize(r.measured[leg]);
      const e = summarize(r.errors[leg]);
      rows.push({ 'flows/s': rate, runs: r.runs, failed: r.failed, leg, 'measured p50 ms': m.p50, 'measured p99 ms': m.p99, 'error p50 ms': e.p50, 'error p99 ms': e.p99, 'CPU ms/run': r.cpuMsPerRun, 'connections/run': 3 });
    }
  }
} finally {
  server.kill();
}
console.log(table(rows));
console.log('\nerror = leg as the probe measured it − (the demo wrote the event to that output − the demo received the ingest), same host clock');
console.log('connections/run: one SSE watcher, one WebSocket watcher, one injection (pooled, kept alive)');
console.log('goal: measurement error p99 < 2 ms');
