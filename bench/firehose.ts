// Fast streams against one probe run: an SSE stream at 100, 10,000 and 200,000 events a second
// held 20 s, and a WebSocket burst of 100,000 numbered messages. Prints the events counted, the
// verdict and this process's RSS before, at its peak and after a collection — flat is the goal
// (a run keeps counts and bounded figures, never every gap). The 100-events/s stream is the
// baseline in the same run.
//   node --expose-gc dist/bench/firehose.js [--seconds 20]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRedactor } from '../src/logging/redact.js';
import { runProbe } from '../src/probers/run-probe.js';
import type { SseDetail } from '../src/probers/sse/kind.js';
import type { WebSocketDetail } from '../src/probers/websocket/kind.js';
import { sseSpec, wsSpec } from '../test/probe-spec.js';
import { arg, freePort, table } from './lib.js';

const seconds = arg('seconds', 20);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function measure<T>(run: () => Promise<T>): Promise<{ result: T; before: number; peak: number; after: number }> {
  gc();
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  const result = await run();
  clearInterval(sampler);
  gc();
  return { result, before, peak: Math.max(peak, process.memoryUsage.rss()), after: process.memoryUsage.rss() };
}

const port = await freePort();
const child = fork(fileURLToPath(new URL('./firehose-server.js', import.meta.url)), [String(port)], { stdio: 'ignore' });
await new Promise((resolve) => child.once('message', resolve));
const rows: Array<Record<string, string | number>> = [];
try {
  for (const rate of [100, 10_000, 200_000]) {
    const spec = sseSpec({ url: `http://127.0.0.1:${port}/?rate=${rate}`, hold: `${seconds}s`, holdFull: true, expect: { minEvents: 1 } }, (seconds + 5) * 1000);
    const m = await measure(() => runProbe(spec, { signal: AbortSignal.timeout((seconds + 5) * 1000), runId: 'bench', redact: createRedactor([]) }, { slot: Date.now(), startedAt: Date.now() }));
    const d = m.result.detail as SseDetail;
    rows.push({ stream: `sse ${rate}/s for ${seconds}s`, events: d.events, 'events/s': Math.round(d.events / seconds), verdict: m.result.ok ? m.result.verdict : `${m.result.failure.code}: ${m.result.failure.message.slice(0, 60)}`, 'figures kept': d.gapsMs.length, 'rss before MB': mb(m.before), 'rss peak MB': mb(m.peak), 'rss after MB': mb(m.after) });
  }
  const burst = wsSpec({ url: `ws://127.0.0.1:${port}/`, burst: { count: 100_000, send: { json: { seq: '{{seq}}' } }, seqPath: '$.seq', within: '30s' } }, 40_000);
  const m = await measure(() => runProbe(burst, { signal: AbortSignal.timeout(40_000), runId: 'bench', redact: createRedactor([]) }, { slot: Date.now(), startedAt: Date.now() }));
  const d = m.result.detail as WebSocketDetail;
  rows.push({ stream: 'ws burst of 100,000', events: d.received, 'events/s': Math.round(d.received / (m.result.durationMs / 1000)), verdict: m.result.ok ? m.result.verdict : `${m.result.failure.code}: ${m.result.failure.message.slice(0, 60)}`, 'figures kept': d.rttSamplesMs.length, 'rss before MB': mb(m.before), 'rss peak MB': mb(m.peak), 'rss after MB': mb(m.after) });
} finally {
  child.kill();
}
console.log(`fast streams against one probe run, Node ${process.version}`);
console.log(table(rows));
