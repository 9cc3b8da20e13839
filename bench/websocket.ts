// WebSocket benchmarks against an echo server in its own process:
//  - fidelity: RTT as the probe measures it (ping/pong) beside a raw `ws` ping/pong loop on the
//    same server, in the same run;
//  - capacity: N probe connections each exchanging one message per second, beside N raw `ws`
//    clients doing the same: RSS per connection, CPU per message, event-loop delay p99, RTT p99.
//   node dist/bench/websocket.js [--samples 2000] [--sizes 1000,5000,10000] [--seconds 10]
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { watchLoopDelay } from '../src/resources/loop-delay.js';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { specOf } from '../test/probe-spec.js';
import { createRedactor } from '../src/logging/redact.js';
import { runProbe } from '../src/probers/run-probe.js';
import type { WebSocketDetail } from '../src/probers/websocket/kind.js';
import { arg, summarize, table } from './lib.js';

const here = fileURLToPath(import.meta.url);

async function probeOnce(fields: Record<string, unknown>, timeoutMs: number) {
  const now = Date.now();
  return runProbe(specOf('websocket', fields, timeoutMs), { signal: AbortSignal.timeout(timeoutMs), runId: 'bench', redact: createRedactor([]) }, { slot: now, startedAt: now });
}

async function rawPingLoop(url: string, samples: number): Promise<number[]> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  const rtts: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('pong', () => resolve());
      ws.ping();
    });
    rtts.push(performance.now() - t0);
  }
  ws.terminate();
  return rtts;
}

async function capacity(mode: string, url: string, connections: number, seconds: number) {
  const eld = watchLoopDelay();
  const rss0 = process.memoryUsage.rss();
  let rssMax = rss0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 250);
  const cpu0 = process.cpuUsage();
  let rtts: number[] = [];
  let ok = 0;
  if (mode === 'flowprobe') {
    const r = await probeOnce({ url, connections, rtt: { samples: seconds, every: '1s', send: { text: 'm{{seq}}' }, match: { text: 'm{{seq}}' }, within: '5s' }, expect: { maxFailedConnections: connections } }, seconds * 1000 + 60_000);
    const d = r.detail as WebSocketDetail;
    rtts = d.rttSamplesMs;
    ok = d.connectionsOk;
    if (!r.ok) console.error(`flowprobe ${connections}: ${r.failure.message}`);
  } else {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        const opened = await new Promise<boolean>((resolve) => {
          ws.once('open', () => resolve(true));
          ws.once('error', () => resolve(false));
        });
        if (!opened) return;
        ok++;
        for (let i = 1; i <= seconds; i++) {
          if (i > 1) await new Promise((resolve) => setTimeout(resolve, 1000));
          const t0 = performance.now();
          await new Promise<void>((resolve) => {
            ws.once('message', () => resolve());
            ws.send(`m${i}`);
          });
          rtts.push(performance.now() - t0);
        }
        ws.terminate();
      }),
    );
  }
  const cpu = process.cpuUsage(cpu0);
  clearInterval(rssTimer);
  eld.stop();
  const s = summarize(rtts);
  return { mode, connections, ok, messages: rtts.length, rssMb: (rssMax - rss0) / 1e6, cpuUsPerMessage: (cpu.user + cpu.system) / Math.max(1, rtts.length), eldP99: eld.percentileMs(99), rttP50: s.p50, rttP99: s.p99 };
}

function run(args: string[]): Promise<unknown> {
  return new Promise((resolve) => {
    const c = fork(here, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', (m) => (resolve(m), c.kill()));
  });
}

if (process.argv[2] === '--child') {
  const [kind, url, a, b] = process.argv.slice(3);
  if (kind === 'fidelity') {
    const samples = Number(a);
    const raw = summarize(await rawPingLoop(url as string, samples));
    const probed = ((await probeOnce({ url, rtt: { samples } }, 120_000)).detail as WebSocketDetail).rttMs;
    process.send?.({ raw, probed }, () => process.exit(0));
  } else {
    process.send?.(await capacity(kind as string, url as string, Number(a), Number(b)), () => process.exit(0));
  }
} else {
  const samples = arg('samples', 2000);
  const seconds = arg('seconds', 10);
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes = sizesArg > 0 ? String(process.argv[sizesArg + 1]).split(',').map(Number) : [1000, 5000, 10000];
  const server = fork(fileURLToPath(new URL('./ws-server.js', import.meta.url)), ['0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = (await new Promise((resolve) => server.once('message', resolve))) as { port: number };
  const url = `ws://127.0.0.1:${port}/`;
  try {
    console.log(`WebSocket fidelity: ${samples} ping/pong samples each, same echo server (own process), Node ${process.version}`);
    const f = (await run(['--child', 'fidelity', url, String(samples)])) as { raw: ReturnType<typeof summarize>; probed: { p50: number; p99: number; max: number } };
    console.log(
      table([
        { client: 'raw ws ping/pong', 'p50 µs': f.raw.p50 * 1000, 'p99 µs': f.raw.p99 * 1000, 'max µs': f.raw.max * 1000 },
        { client: 'flowprobe probe', 'p50 µs': f.probed.p50 * 1000, 'p99 µs': f.probed.p99 * 1000, 'max µs': f.probed.max * 1000 },
        { client: 'added by the probe', 'p50 µs': (f.probed.p50 - f.raw.p50) * 1000, 'p99 µs': (f.probed.p99 - f.raw.p99) * 1000, 'max µs': (f.probed.max - f.raw.max) * 1000 },
      ]),
    );
    console.log('goal: added overhead p50 < 20 µs, p99 < 0.5 ms\n');
    console.log(`WebSocket capacity: N connections, one message per second each for ${seconds}s`);
    const rows: Array<Record<string, string | number>> = [];
    for (const n of sizes) {
      for (const mode of ['raw', 'flowprobe']) {
        const m = (await run(['--child', mode, url, String(n), String(seconds)])) as Awaited<ReturnType<typeof capacity>>;
        rows.push({ client: mode === 'raw' ? 'raw ws clients' : 'flowprobe probe', connections: n, ok: m.ok, messages: m.messages, 'KB RSS/conn': (m.rssMb * 1000) / n, 'CPU µs/msg': m.cpuUsPerMessage, 'ELD p99 ms': m.eldP99, 'RTT p50 ms': m.rttP50, 'RTT p99 ms': m.rttP99 });
        console.log(table(rows.slice(-1)));
      }
    }
    console.log(`\n${table(rows)}`);
    console.log('\ngoals: 10,000 probe connections < 200 MB RSS, event-loop delay p99 < 5 ms, delivery p99 < 5 ms (mission: < 50 ms at 100+)');
  } finally {
    server.kill();
  }
}
