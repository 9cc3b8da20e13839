// SSE benchmarks: fidelity (event age measured by the probe, with 1 and 1,000 streams) and
// capacity (1k/5k/10k held streams at 1 event/s each): RSS per stream, CPU per event,
// event-loop delay p99 and delivery p99 — the flowprobe SSE prober beside a bare undici +
// eventsource-parser client, each in its own process, against a server in a third.
//   node dist/bench/sse.js [--hold 15] [--sizes 1000,5000,10000]
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { watchLoopDelay } from '../src/resources/loop-delay.js';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';
import { Agent, request } from 'undici';
import { createRedactor } from '../src/logging/redact.js';
import { runProbe } from '../src/probers/run-probe.js';
import { specOf } from '../test/probe-spec.js';
import type { SseDetail } from '../src/probers/sse/kind.js';
import { arg, summarize, table } from './lib.js';

interface Measured {
  mode: string;
  streams: number;
  connected: number;
  events: number;
  rssDeltaMb: number;
  cpuUsPerEvent: number;
  eldP99Ms: number;
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  firstEventP99Ms: number;
}

const here = fileURLToPath(import.meta.url);

async function child(mode: 'flowprobe' | 'bare', url: string, streams: number, holdMs: number): Promise<Measured> {
  const eld = watchLoopDelay();
  const rss0 = process.memoryUsage.rss();
  let rssMax = rss0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 250);
  const cpu0 = process.cpuUsage();
  let ages: number[] = [];
  let firsts: number[] = [];
  let connected = 0;
  let events = 0;
  if (mode === 'flowprobe') {
    const spec = specOf('sse', { url, hold: `${holdMs}ms`, holdFull: true, clients: streams, eventTime: '$.t', expect: { minEvents: 1 } }, holdMs + 60_000);
    const now = Date.now();
    const result = await runProbe(spec, { signal: AbortSignal.timeout(holdMs + 60_000), runId: 'bench', redact: createRedactor([]) }, { slot: now, startedAt: now });
    const detail = result.detail as SseDetail;
    connected = detail.clientsOk;
    events = detail.eventAgeMs?.n ?? 0;
    ages = [detail.eventAgeMs?.p50 ?? NaN, detail.eventAgeMs?.p99 ?? NaN];
    firsts = [detail.firstEventSpreadMs ?? NaN];
    if (!result.ok) console.error(`flowprobe ${streams}: ${result.failure.code}: ${result.failure.message}`);
  } else {
    const agent = new Agent({ connections: streams, pipelining: 0 });
    const started = Date.now();
    await Promise.all(
      Array.from({ length: streams }, async () => {
        const t0 = Date.now();
        const res = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(holdMs + 30_000) }).catch(() => undefined);
        if (!res) return;
        connected++;
        let first = true;
        const parser = createParser({
          onEvent: (e) => {
            events++;
            const age = performance.timeOrigin + performance.now() - (JSON.parse(e.data) as { t: number }).t;
            if (ages.length < 1_000_000) ages.push(age);
            if (first) firsts.push(Date.now() - t0), (first = false);
          },
        });
        const decoder = new TextDecoder();
        const until = started + holdMs;
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            parser.feed(decoder.decode(chunk, { stream: true }));
            if (Date.now() > until) break;
          }
        } catch {
          // aborted at the end of the hold
        }
        res.body.destroy();
      }),
    );
    await agent.close();
  }
  clearInterval(rssTimer);
  eld.stop();
  const cpu = process.cpuUsage(cpu0);
  const summary = mode === 'flowprobe' ? { p50: ages[0] ?? NaN, p99: ages[1] ?? NaN } : summarize(ages);
  return {
    mode,
    streams,
    connected,
    events,
    rssDeltaMb: (rssMax - rss0) / 1e6,
    cpuUsPerEvent: (cpu.user + cpu.system) / Math.max(1, events),
    eldP99Ms: eld.percentileMs(99),
    deliveryP50Ms: summary.p50,
    deliveryP99Ms: summary.p99,
    firstEventP99Ms: mode === 'flowprobe' ? NaN : summarize(firsts).p99,
  };
}

function spawnChild(script: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', (m) => {
      resolve(m);
      c.kill();
    });
    c.once('exit', (code) => (code ? reject(new Error(`${script} exited ${code}`)) : undefined));
  });
}

if (process.argv[2] === '--child') {
  const [mode, url, streams, hold] = process.argv.slice(3);
  const measured = await child(mode as 'flowprobe' | 'bare', url as string, Number(streams), Number(hold));
  process.send?.(measured, () => process.exit(0));
} else {
  const holdS = arg('hold', 15);
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes = sizesArg > 0 ? String(process.argv[sizesArg + 1]).split(',').map(Number) : [1, 1000, 5000, 10000];
  const server = fork(fileURLToPath(new URL('./sse-server.js', import.meta.url)), ['0', '1000'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = (await new Promise((resolve) => server.once('message', resolve))) as { port: number };
  const url = `http://127.0.0.1:${port}/stream`;
  console.log(`SSE: streams held ${holdS}s each, 1 event/s per stream stamped with its send time, server in its own process, Node ${process.version}`);
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const streams of sizes) {
      for (const mode of ['bare', 'flowprobe'] as const) {
        const m = (await spawnChild(here, ['--child', mode, url, String(streams), String(holdS * 1000)])) as Measured;
        rows.push({
          client: mode === 'bare' ? 'bare undici+parser' : 'flowprobe prober',
          streams,
          connected: m.connected,
          events: m.events,
          'KB RSS/stream': (m.rssDeltaMb * 1000) / streams,
          'RSS Δ MB': m.rssDeltaMb,
          'CPU µs/event': m.cpuUsPerEvent,
          'ELD p99 ms': m.eldP99Ms,
          'delivery p50 ms': m.deliveryP50Ms,
          'delivery p99 ms': m.deliveryP99Ms,
        });
        console.log(table(rows.slice(-1)));
      }
    }
  } finally {
    server.kill();
  }
  console.log(`\n${table(rows)}`);
  console.log('\ngoals: 10,000 held probe streams < 250 MB RSS, event-loop delay p99 < 5 ms, delivery p99 < 2 ms; overhead p99 < 1 ms at 1 stream, < 5 ms at 1,000');
  console.log('delivery = arrival time − the send time the server stamped (same host clock): on loopback, the client\'s own overhead plus the server\'s write loop.');
}
