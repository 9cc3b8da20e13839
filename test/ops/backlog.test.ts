// test-runner: long (over a minute on purpose: started first, so it does not end the run alone)
// Two receivers down for two minutes while 50 probes flap: delivery work must not starve the
// probing (no real failure recorded as inconclusive unless the whole machine was starved then),
// the outbox stays bounded, and once the receivers are back each gets every incident's all-clear
// (up to the cap), never a replay of every page, and ends on the current state.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { it } from 'node:test';
import { MAX_QUEUED_PER_RECEIVER } from '../../src/alerting/outbox.js';
import { startDaemon } from '../daemon-harness.js';
import { closedPort, httpServer } from '../servers.js';
import { waitFor } from '../wait.js';

const PROBES = 50;
const DOWN_MS = 120_000;

/** Spans when the machine kept this process's main thread (the daemon's event loop) waiting on
 * the run queue: /proc/self/schedstat's second field is that wait, in ns. A daemon starved
 * then was starved by the machine's load, not by its own delivery work. */
function watchRunQueue(): { spans: Array<[number, number]>; stop(): void } {
  const read = () => Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  const spans: Array<[number, number]> = [];
  let last = { at: Date.now(), waited: read() };
  const timer = setInterval(() => {
    const now = { at: Date.now(), waited: read() };
    if (now.waited - last.waited > 100) spans.push([last.at, now.at]);
    last = now;
  }, 100);
  return { spans, stop: () => clearInterval(timer) };
}

function metric(text: string, name: string, filter: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (filter(m[1] as string)) sum += Number(m[2]);
  return sum;
}

it(`${PROBES} flapping probes and 2 dead receivers for 2 minutes: no inconclusive run of the daemon's own making, a bounded outbox, every all-clear and never a replayed page`, { timeout: DOWN_MS + 90_000 }, async () => {
  // Each probe flips between 200 and 503 every 3 s, on its own phase, until the fault is mended.
  let mended = false;
  const target = await httpServer((req, res) => {
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
    res.writeHead(mended || Math.floor((Date.now() / 3_000 + n / 7) % 2) === 0 ? 200 : 503).end();
  });
  const ports = [await closedPort(), await closedPort()];
  const config = [
    'probesDir: probes',
    'detect: { failAfter: 1, recoverAfter: 1, failureRatio: false }',
    'alerting:',
    `  receivers: [{ name: one, webhook: { url: "http://127.0.0.1:${ports[0]}/" } }, { name: two, webhook: { url: "http://127.0.0.1:${ports[1]}/" } }]`,
    '  group: { by: [alertname, probe], wait: 0ms, interval: 500ms, repeat: 4h }',
    '  retry: { initial: 100ms, max: 2s }',
    '  timeout: 1s',
    '',
  ].join('\n');
  const probes = Object.fromEntries(Array.from({ length: PROBES }, (_, i) => [`p${i}.yaml`, `name: p${i}\nkind: http\nevery: 1s\ntimeout: 800ms\nurl: ${target.url}/?n=${i}\n`]));
  const runQueue = watchRunQueue();
  const machineLate = runQueue.spans;
  const h = await startDaemon(config, probes);
  const received = new Map<string, Array<{ status: string; groupKey: string; alerts: Array<{ status: string }> }>>();
  const sinks: http.Server[] = [];
  try {
    let mostPending = 0;
    const until = Date.now() + DOWN_MS;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const text = (await h.get('/metrics')).text;
      mostPending = Math.max(mostPending, metric(text, 'flowprobe_outbox_pending'));
    }
    const text = (await h.get('/metrics')).text;
    const runs = metric(text, 'flowprobe_probe_runs_total');
    const inconclusive = metric(text, 'flowprobe_probe_runs_total', (l) => l.includes('result="inconclusive"'));
    const failures = metric(text, 'flowprobe_probe_runs_total', (l) => l.includes('result="failure"'));
    console.log(`backlog: ${runs} runs (${failures} failures, ${inconclusive} inconclusive), at most ${mostPending} notifications pending`);
    assert.ok(failures > PROBES, 'the probes did flap');
    // Inconclusive runs are right when the machine starved the daemon (a busy CI host): the run
    // queue tells those apart. One that fell while the daemon was not kept waiting is its own doing.
    const own = h.logs
      .map((l) => JSON.parse(l) as { time: string; duration_ms: number; failure?: { code: string }; probe?: string })
      .filter((l) => l.failure?.code === 'inconclusive')
      .filter((l) => {
        const end = Date.parse(l.time);
        const start = end - l.duration_ms;
        return !machineLate.some(([from, to]) => from <= end + 1_000 && to >= start - 1_000);
      });
    console.log(`backlog: the machine kept the daemon waiting >100 ms in ${machineLate.length} of its 100 ms samples; ${inconclusive - own.length} of ${inconclusive} inconclusive runs fell then`);
    assert.equal(own.length, 0, `delivery work never made a real failure inconclusive: ${JSON.stringify(own.slice(0, 3))}`);
    // Bounded: pages waiting for a group are replaced by its newer state, all-clears are kept
    // (each ends an incident), and past the cap per receiver the oldest go.
    assert.ok(mostPending <= 2 * MAX_QUEUED_PER_RECEIVER + 4, `outbox bounded: ${mostPending} pending at most`);

    // The fault is mended and every probe healthy again; then the receivers come back: each
    // gets at most one notification per group, carrying the current state (all resolved).
    mended = true;
    await waitFor('every probe healthy', async () => (metric((await h.get('/metrics')).text, 'flowprobe_probe_state', (l) => l.includes('state="failing"')) === 0 ? true : undefined), 30_000, 250);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the last group flushes queue their state
    for (const [i, port] of ports.entries()) {
      const name = i === 0 ? 'one' : 'two';
      received.set(name, []);
      const server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => (received.get(name)?.push(JSON.parse(body) as { status: string; groupKey: string; alerts: Array<{ status: string }> }), res.end()));
      });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      sinks.push(server);
    }
    await waitFor('the backlog delivered', async () => (metric((await h.get('/metrics')).text, 'flowprobe_outbox_pending') === 0 ? true : undefined), 60_000, 500);
    for (const [name, list] of received) {
      const perGroup = new Map<string, Array<{ status: string }>>();
      for (const n of list) perGroup.set(n.groupKey, [...(perGroup.get(n.groupKey) ?? []), n]);
      assert.ok(list.length > 0, `${name} got the picture`);
      // Never a replay of every flip: two pages of a group in a row (no all-clear between)
      // only when the newer one came while the older was in flight; the last is the all-clear.
      for (const [group, sent] of perGroup) {
        const pagesInARow = sent.filter((n, i) => n.status === 'firing' && sent[i - 1]?.status === 'firing').length;
        assert.ok(pagesInARow <= 1, `${name} ${group}: ${sent.map((n) => n.status).join()}`);
        if (group.includes('ProbeFailing')) assert.equal(sent.at(-1)?.status, 'resolved', `${name} ${group}: the current state is resolved`);
      }
    }
    const superseded = metric((await h.get('/metrics')).text, 'flowprobe_notifications_dropped_total', (l) => l.includes('reason="superseded"'));
    assert.ok(superseded > 0, 'older states were replaced, not replayed');
  } finally {
    runQueue.stop();
    await h.daemon.stop();
    for (const server of sinks) server.close();
    await target.close();
  }
});
