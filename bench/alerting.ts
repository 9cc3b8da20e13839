// Alerting: latency from a transition to the receiver's HTTP request (p50/p99) through the
// whole pipeline (route, group with wait 0, dedup, fsynced outbox, sender), and outbox
// throughput (notifications queued per second, each fsynced).
//   node dist/bench/alerting.js [--incidents 300]
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AlertEngine } from '../src/alerting/engine.js';
import type { z } from 'zod';
import { alertingStateSchema, Outbox, type AlertingState } from '../src/alerting/outbox.js';
import { StateFile } from '../src/detect/state-file.js';
import { daemonConfigSchema } from '../src/config/schema.js';
import { systemClock } from '../src/scheduler/clock.js';
import { arg, summarize, table } from './lib.js';

const incidents = arg('incidents', 300);
const sentAt = new Map<string, number>();
const latencies: number[] = [];
const sink = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const now = performance.now();
    for (const alert of (JSON.parse(body) as { alerts: Array<{ labels: { probe: string }; status: string }> }).alerts) {
      const started = sentAt.get(`${alert.labels.probe}/${alert.status}`);
      if (started !== undefined) latencies.push(now - started);
    }
    res.end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(sink.address() as { port: number }).port}/`;
const config = daemonConfigSchema.parse({
  alerting: { receivers: [{ name: 'sink', webhook: { url } }], group: { by: ['alertname', 'probe'], wait: '0ms', interval: '10ms', repeat: '4h' } },
}).alerting;
const engine = new AlertEngine({
  clock: systemClock,
  stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-alerting-')),
  location: 'bench',
  config,
  events: { attempt: () => undefined, decision: () => undefined, saveError: (e) => console.error(e) },
});
engine.start();
console.log(`alerting: ${incidents} incidents (firing + resolved), one at a time, to a local webhook sink, Node ${process.version}`);
const t0 = performance.now();
for (let i = 0; i < incidents; i++) {
  for (const status of ['firing', 'resolved'] as const) {
    const probe = `p${i}`;
    const expected = latencies.length + 1;
    sentAt.set(`${probe}/${status}`, performance.now());
    engine.handle([{ labels: { alertname: 'ProbeFailing', probe, severity: 'critical', location: 'bench' }, status, at: Date.now(), summary: `${probe} ${status}`, checks: [], evidence: {} }]);
    const deadline = Date.now() + 5000;
    while (latencies.length < expected && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  }
}
const elapsed = performance.now() - t0;
const s = summarize(latencies);
console.log(table([{ notifications: s.n, 'p50 ms': s.p50, 'p99 ms': s.p99, 'max ms': s.max, 'notifications/s (end to end, fsync each)': (s.n * 1000) / elapsed }]));
console.log('\ngoal: p99 < 200 ms from transition to the receiver\'s HTTP request');
engine.stop();
sink.close();

// The outbox alone: queue a notification and fsync, N times, with a backlog of 100 queued.
const outbox = new Outbox(new StateFile(path.join(mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-outbox-')), 'alerts.json'), alertingStateSchema as unknown as z.ZodType<AlertingState, unknown>), systemClock);
const sample = { id: '', receiver: 'sink', groupKey: 'g', groupLabels: {}, status: 'firing' as const, alerts: [], externalUrl: undefined, createdAt: 0, test: false };
for (let i = 0; i < 100; i++) outbox.enqueue({ ...sample, id: `backlog-${i}` }, 0);
const writes = arg('writes', 500);
const w0 = performance.now();
for (let i = 0; i < writes; i++) {
  outbox.enqueue({ ...sample, id: `n-${i}` }, 0);
  outbox.save();
}
const ms = performance.now() - w0;
console.log(`\noutbox alone: ${writes} notifications queued, each fsynced and renamed, backlog 100: ${((writes * 1000) / ms).toFixed(0)} /s, ${(ms / writes).toFixed(2)} ms each`);
