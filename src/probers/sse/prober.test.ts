import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { sseSpec } from '../../../test/probe-spec.js';
import { httpServer, tcpServer, type Running } from '../../../test/servers.js';
import { assertNoLeak } from '../../../test/handles.js';
import { createRedactor } from '../../logging/redact.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult } from '../types.js';
import type { SseDetail } from './kind.js';

const STREAM = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

function probe(fields: Record<string, unknown>, timeoutMs = 2000): Promise<ProbeResult> {
  const spec = sseSpec(fields, timeoutMs);
  const now = Date.now();
  return runProbe(spec, { signal: AbortSignal.timeout(timeoutMs), runId: 'sse-test', redact: createRedactor([]) }, { slot: now, startedAt: now });
}

const code = (r: ProbeResult) => (r.ok ? 'ok' : r.failure.code);
const sse = (r: ProbeResult) => r.detail as SseDetail;

/** Streams numbered events every `everyMs`, resuming after Last-Event-ID, forever or `count` times. */
function ticker(res: http.ServerResponse, req: http.IncomingMessage, everyMs: number, options: { count?: number; ids?: number[]; retry?: number; end?: boolean } = {}) {
  res.writeHead(200, STREAM);
  if (options.retry) res.write(`retry: ${options.retry}\n\n`);
  let n = Number(req.headers['last-event-id'] ?? 0);
  let sent = 0;
  const timer = setInterval(() => {
    const id = options.ids ? options.ids[sent] : ++n;
    if (id === undefined || (options.count !== undefined && sent >= options.count)) {
      clearInterval(timer);
      if (options.end) res.end();
      return;
    }
    sent++;
    res.write(`id: ${id}\nevent: tick\ndata: {"n":${id},"status":"ok"}\n\n`);
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

const routes: Record<string, http.RequestListener> = {
  '/ok': (req, res) => ticker(res, req, 20),
  '/silent': (_req, res) => void res.writeHead(200, STREAM).flushHeaders(),
  '/heartbeats': (_req, res) => {
    res.writeHead(200, STREAM);
    const timer = setInterval(() => res.write(': heartbeat\n\n'), 10);
    res.on('close', () => clearInterval(timer));
  },
  '/three-then-silence': (req, res) => ticker(res, req, 10, { count: 3 }),
  '/ends-early': (req, res) => ticker(res, req, 10, { count: 3, end: true }),
  '/wrong-type': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  },
  '/204': (_req, res) => void res.writeHead(204).end(),
  '/500': (_req, res) => void res.writeHead(500).end('oops'),
  '/slow-headers': () => undefined,
  '/gappy-ids': (req, res) => ticker(res, req, 10, { ids: [1, 2, 3, 7, 8] }),
  '/gap-then-silence': (req, res) => ticker(res, req, 10, { ids: [1, 2, 5] }),
  '/partial': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write('data: {"never":"ends"');
  },
  // 300,000 events at once, then an open stream: more figures than a spread argument list holds.
  '/firehose': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write(Buffer.from('id: 1\ndata: x\n\n'.repeat(300_000)));
  },
  '/retry-only': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write('retry: 1000\n\n');
  },
  '/lines-no-blank': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write('id: 1\ndata: {"a":1}\n');
  },
  '/garbage': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write('this is not\nan event stream {"at": all}\n\n<html>\n');
  },
  '/bad-utf8': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write(Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x0a, 0x0a]));
  },
  '/huge-event': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write(`data: ${'x'.repeat(2 * 1024 * 1024)}\n\n`);
  },
  '/endless-line': (_req, res) => {
    res.writeHead(200, STREAM);
    const chunk = `data: ${'y'.repeat(16 * 1024)}`;
    const timer = setInterval(() => res.write(chunk.slice(6)), 1);
    res.write(chunk);
    res.on('close', () => clearInterval(timer));
  },
  '/forgetful': (_req, res) => {
    // Ignores Last-Event-ID: starts again from 1 after a reconnect.
    res.writeHead(200, STREAM);
    res.write('retry: 10\n\n');
    let n = 0;
    const timer = setInterval(() => res.write(`id: ${++n}\ndata: x\n\n`), 10);
    res.on('close', () => clearInterval(timer));
  },
  '/retry-300': (req, res) => ticker(res, req, 10, { retry: 300 }),
  // A healthy stream, an event every 100 ms, that asks for a 1 s retry: wait (the planned resume pays it).
  '/cadence-slow-retry': (req, res) => ticker(res, req, 100, { retry: 1000 }),
  // Rotates its streams: ends each after ~500 ms (4 events), retry: 150, ids continuous.
  '/rotating': (req, res) => ticker(res, req, 100, { count: 4, end: true, retry: 150 }),
  // Ends every stream at once, asking for no wait: a storm.
  '/storm': (_req, res) => void res.writeHead(200, STREAM).end('retry: 0\n\n'),
  // One event, then bytes of a line that never ends.
  '/unterminated-after-one': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write('id: 1\ndata: one\n\n');
    const timer = setInterval(() => res.write('x'.repeat(16)), 20);
    res.on('close', () => clearInterval(timer));
  },
  '/bursty': (_req, res) => {
    // A buffering proxy: events made every 40 ms, flushed together every 200 ms.
    res.writeHead(200, STREAM);
    let held: string[] = [];
    const make = setInterval(() => held.push(`data: {"sentAt":${Date.now()}}\n\n`), 40);
    const flush = setInterval(() => ((held.length && res.write(held.join(''))), (held = [])), 200);
    res.on('close', () => (clearInterval(make), clearInterval(flush)));
  },
  '/stamped': (_req, res) => {
    // Events that were sent (so they say) half a second ago: stale data.
    res.writeHead(200, STREAM);
    const timer = setInterval(() => res.write(`data: {"sentAt":${Date.now() - 500}}\n\n`), 10);
    res.on('close', () => clearInterval(timer));
  },
};

describe('SSE prober against real local servers', () => {
  let server: Running;
  let resetServer: Running;
  before(async () => {
    server = await httpServer((req, res) => (routes[req.url ?? ''] ?? ((_q, r) => void r.writeHead(404).end()))(req, res));
    // One event, then a TCP reset.
    resetServer = await tcpServer((socket) =>
      socket.once('data', () => {
        // Once the bytes are out (a reset with a write pending can leave as a FIN), a real RST.
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nid: 1\ndata: one\n\n', () => setTimeout(() => socket.resetAndDestroy(), 20));
      }),
    );
  });
  after(async () => {
    await server.close();
    await resetServer.close();
  });

  it('measures a healthy stream: first event, rate, gaps, ids, every check', async () => {
    const r = await probe({ url: `${server.url}/ok`, hold: '300ms', holdFull: true, expect: { firstEventWithin: '200ms', minEvents: 5, maxGap: '200ms', eventType: 'tick', json: { '$.status': 'ok' } } });
    assert.equal(code(r), 'ok', r.ok ? '' : r.failure.message);
    assert.ok((r.phases.first_event ?? 0) > 0 && (r.phases.first_event ?? 0) < 200);
    assert.ok(sse(r).events >= 5 && sse(r).missingIds === 0 && sse(r).duplicateIds === 0);
    assert.ok((sse(r).longestGapMs ?? 999) < 200);
    assert.deepEqual(r.checks.map((c) => c.name), ['status', 'events', 'first event', 'longest gap', 'event type', 'json $.status', 'missing ids', 'duplicate ids']);
    assert.ok(r.checks.every((c) => c.ok));
  });

  it('ends the window early once enough events arrived', async () => {
    const r = await probe({ url: `${server.url}/ok`, hold: '1500ms', expect: { minEvents: 2 } });
    assert.equal(code(r), 'ok');
    assert.ok(r.durationMs < 500, `took ${r.durationMs}ms`);
  });

  it('a firehose of 300,000 events is counted, its figures bounded, and nothing overflows', async () => {
    const r = await probe({ url: `${server.url}/firehose`, hold: '1500ms', holdFull: true, expect: { minEvents: 1 } }, 5_000);
    assert.ok(r.ok || r.failure.code !== 'internal', r.ok ? '' : r.failure.message);
    assert.equal(sse(r).events, 300_000);
    assert.ok(sse(r).gapsMs.length <= 256, `${sse(r).gapsMs.length} gaps kept`);
    assert.ok(sse(r).longestGapMs !== undefined);
  });

  const failures: Array<[string, Record<string, unknown>, string, RegExp, number?]> = [
    ['200 with no events ever', { url: '/silent', hold: '150ms' }, 'stale', /^no event within the .* window: nothing after the headers$/],
    ['heartbeat comments only', { url: '/heartbeats', hold: '150ms' }, 'stale', /^only heartbeats: \d+ comment line\(s\), no event in /],
    ['a partial event that never ends', { url: '/partial', hold: '150ms' }, 'stale', /^partial event never terminated: 21B without a line end \(21B received/],
    ['ids missing, then silence', { url: '/gap-then-silence', hold: '1s', expect: { maxGap: '150ms' } }, 'assertion', /^ids 3–4 missing \(after 2 came 5\) — 2 missing in all; then no event for 150ms \(maxGap 150ms\) after 3 event\(s\)/],
    ['3 events then silence', { url: '/three-then-silence', hold: '1s', expect: { maxGap: '150ms' } }, 'stale', /no event for 150ms \(maxGap 150ms\) after 3 event/],
    ['a reconnect storm (every stream ended at once, retry: 0)', { url: '/storm', hold: '1s' }, 'closed', /^reconnect storm: the server ended the stream 5 times in [\d.]+m?s \(more than 5 a second; retry: 0ms\); 0 event\(s\)/],
    ['bytes of a line that never ends, after an event', { url: '/unterminated-after-one', hold: '1s', expect: { maxGap: '150ms' } }, 'stale', /^no event for 150ms \(maxGap 150ms\): \d+B of a line that never ended, after 1 event\(s\)$/],
    ['wrong content type', { url: '/wrong-type' }, 'protocol', /content type: expected text\/event-stream, observed "application\/json"/],
    ['204 No Content', { url: '/204' }, 'http_status', /204 No Content/],
    ['500', { url: '/500' }, 'http_status', /status: expected 200, observed 500/],
    ['headers that never come', { url: '/slow-headers', hold: '100ms' }, 'timeout', /./, 300],
    ['ids 1,2,3,7,8', { url: '/gappy-ids', hold: '200ms', holdFull: true }, 'assertion', /^ids 4–6 missing \(after 3 came 7\) — 3 missing in all$/],
    ['garbage', { url: '/garbage', hold: '100ms' }, 'stale', /^not an event stream: 48B received in [\d.]+ms, none of it an event field/],
    ['a stall that sent only a retry: hint (silence, not framing)', { url: '/retry-only', hold: '100ms' }, 'stale', /^silent: no event in [\d.]+ms; the stream sent only a retry: 1s hint$/],
    ['event lines never ended by a blank line', { url: '/lines-no-blank', hold: '100ms' }, 'stale', /^20B of event lines but no event completed in [\d.]+ms \(no blank line ended one/],
    ['invalid UTF-8', { url: '/bad-utf8', hold: '200ms' }, 'protocol', /not valid UTF-8/],
    ['one huge event', { url: '/huge-event', maxEventSize: '64KiB' }, 'protocol', /exceeded maxEventSize \(65536 bytes\)/],
    ['a line that never ends', { url: '/endless-line', maxEventSize: '64KiB' }, 'protocol', /exceeded maxEventSize/],
    ['resume against a server that ignores Last-Event-ID', { url: '/forgetful', hold: '300ms', resume: { after: '100ms' } }, 'assertion', /^id 1 again \(after \d+\); id 2 again/],
  ];
  for (const [name, fields, expected, message, timeoutMs] of failures) {
    it(`classifies ${name} as ${expected}, within its deadline`, async () => {
      const deadline = timeoutMs ?? 2000;
      const started = Date.now();
      const r = await probe({ ...fields, url: `${server.url}${String(fields.url)}` }, deadline);
      assert.equal(code(r), expected, r.ok ? 'ok' : r.failure.message);
      assert.match(r.ok ? '' : r.failure.message, message);
      assert.ok(Date.now() - started < deadline + 500, `took ${Date.now() - started}ms`);
    });
  }

  it('follows a server that rotates its streams as an EventSource would: reconnects counted and timed, ids continuous, ok', async () => {
    const r = await probe({ url: `${server.url}/rotating`, hold: '3s', holdFull: true }, 4000);
    assert.equal(code(r), 'ok', r.ok ? '' : r.failure.message);
    assert.ok(sse(r).serverEnds >= 2, `the server ended the stream ${sse(r).serverEnds} time(s)`);
    assert.equal(sse(r).reconnects, sse(r).serverEnds);
    assert.equal(sse(r).missingIds, 0, 'Last-Event-ID sent: the sequence went on');
    assert.equal(sse(r).duplicateIds, 0);
    // Gaps are within a connection: the first event after a reconnect closes the reconnect, not a
    // gap (so the retry: wait is never a silence). Counted, not timed: a busy machine stretches
    // every gap, but not this.
    const { events, reconnects, gapsMs } = sse(r);
    assert.ok(gapsMs.length === events - reconnects || gapsMs.length === events - reconnects + 1, `${gapsMs.length} gaps for ${events} events over ${reconnects + 1} connections`);
    assert.ok((sse(r).reconnectMs ?? 0) >= 150, `reconnect ${sse(r).reconnectMs}ms: retry: 150 and the first event after`);
    // Reconnects are a figure with limits when the probe sets them.
    const limited = await probe({ url: `${server.url}/rotating`, hold: '3s', holdFull: true, expect: { maxReconnects: 1 } }, 4000);
    assert.equal(code(limited), 'assertion');
    assert.match(limited.ok ? '' : limited.failure.message, /^reconnects: expected <= 1, observed [2-9]/);
    const soft = await probe({ url: `${server.url}/rotating`, hold: '3s', holdFull: true, degradeWhen: { reconnectWithin: '100ms' } }, 4000);
    assert.equal(soft.ok && soft.verdict, 'degraded');
    assert.match(soft.ok && soft.verdict === 'degraded' ? soft.degradation : '', /^reconnect time [\d.]+m?s, over its degrade limit/);
  });

  it('a healthy stream with a planned resume and a 1 s retry: reads ok: the gap is the reconnect\'s, not the server\'s', async () => {
    const r = await probe({ url: `${server.url}/cadence-slow-retry`, hold: '2500ms', resume: { after: '500ms' }, degradeWhen: { maxGap: '500ms' } }, 4000);
    assert.equal(r.ok && r.verdict, 'ok', r.ok ? (r.verdict === 'degraded' ? r.degradation : '') : r.failure.message);
    assert.ok((sse(r).longestGapMs ?? 9_999) < 1_000, `longest gap ${sse(r).longestGapMs}ms: the 1 s retry: wait is not in it`);
    assert.ok((sse(r).reconnectMs ?? 0) >= 1000, `the reconnect took ${sse(r).reconnectMs}ms: the retry: wait and the first event after`);
    assert.ok(r.checks.some((c) => c.name === 'resume' && c.ok));
  });

  it('reads a TCP reset after the first event as a reset: closed, "connection reset by the peer after 1 event(s)"', async () => {
    const r = await probe({ url: resetServer.url, hold: '500ms', holdFull: true });
    assert.equal(code(r), 'closed', r.ok ? '' : r.failure.message);
    assert.equal(sse(r).events, 1);
    assert.match(r.ok ? '' : r.failure.message, /^connection reset by the peer after 1 event\(s\)/);
  });

  it('resumes with Last-Event-ID, honouring retry:, with nothing missed or repeated', async () => {
    const r = await probe({ url: `${server.url}/retry-300`, hold: '700ms', resume: { after: '150ms' } });
    assert.equal(code(r), 'ok', r.ok ? '' : r.failure.message);
    assert.equal(sse(r).reconnects, 1);
    assert.ok((sse(r).reconnectMs ?? 0) >= 300, `reconnected after ${sse(r).reconnectMs}ms, retry: was 300`);
    assert.equal(sse(r).missingIds, 0);
    assert.equal(sse(r).duplicateIds, 0);
  });

  it('names bursts as the cause when a buffering proxy makes events late', async () => {
    const r = await probe({ url: `${server.url}/bursty`, hold: '1100ms', holdFull: true, eventTime: '$.sentAt', expect: { maxEventAge: '100ms' } }, 3000);
    assert.equal(code(r), 'assertion', r.ok ? '' : r.failure.message);
    assert.match(r.ok ? '' : r.failure.message, /^events arrive in bursts of \d+ every [\d.]+m?s \(buffering in front of the stream\?\); age up to \d+m?s: event age p99 [\d.]+m?s > 100ms$/);
    assert.ok((sse(r).bursts?.size ?? 0) >= 3 && (sse(r).bursts?.everyMs ?? 0) >= 150, JSON.stringify(sse(r).bursts));
  });

  it('measures how old events are on arrival when they carry their send time', async () => {
    const r = await probe({ url: `${server.url}/stamped`, hold: '200ms', holdFull: true, eventTime: '$.sentAt', expect: { maxEventAge: '200ms' } });
    assert.equal(code(r), 'assertion');
    assert.match(r.ok ? '' : r.failure.message, /^event age p99: expected <= 200ms, observed \d/);
    assert.ok((sse(r).eventAgeMs?.p99 ?? 0) >= 500, r.ok ? 'ok' : r.failure.message);
    assert.ok((sse(r).eventAgeMs?.p50 ?? 0) >= 500);
  });

  it('fans out to N subscribers and compares what they saw', async () => {
    const r = await probe({ url: `${server.url}/ok`, hold: '300ms', clients: 5 });
    assert.equal(code(r), 'ok', r.ok ? '' : r.failure.message);
    assert.equal(sse(r).clientsOk, 5);
    assert.ok((sse(r).firstEventSpreadMs ?? 999) < 100);
  });
});

describe('SSE prober under hostile targets, repeatedly', () => {
  it('keeps live memory and open handles flat over 200 runs of each hostile case', async () => {
    const server = await httpServer((req, res) => (routes[req.url ?? ''] ?? ((_q, r) => void r.writeHead(404).end()))(req, res));
    const cases = ['/silent', '/heartbeats', '/three-then-silence', '/wrong-type', '/204', '/500', '/slow-headers', '/gappy-ids', '/garbage', '/bad-utf8', '/huge-event', '/endless-line'];
    const round = async (times: number) => {
      for (let i = 0; i < times; i++) {
        await Promise.all(cases.map((path) => probe({ url: `${server.url}${path}`, hold: '40ms', maxEventSize: '64KiB', expect: { maxGap: '30ms' } }, 120)));
      }
    };
    try {
      await assertNoLeak(`${200 * cases.length} runs`, () => round(20), () => round(200));
    } finally {
      await server.close();
    }
  });
});
