// Classes of targets that used to misread, each against a server of our own that behaves that
// way, run the way a user runs them: `flowprobe probe NAME` (the CLI, the daemon's connector),
// asserting the verdict and the headline's words.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configDir } from '../../test/config-dir.js';
import { httpServer, tcpServer, type Running } from '../../test/servers.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const STREAM = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

interface Printed {
  code: number | null;
  /** What a user reads: the verdict and the headline, from the same result. */
  text: string;
  result: { verdict: string; failure?: { code: string; message: string }; degradation?: string; detail: Record<string, unknown> };
}

/** `flowprobe probe NAME --json`, as a user runs it (one run: the human form is the same result). */
async function flowprobe(configFile: string, name: string): Promise<Printed> {
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'probe', name, '--config', configFile, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 20_000 });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('close', (exit) => resolve({ code: exit, out: text }));
  });
  const result = JSON.parse(out) as Printed['result'];
  return { code, text: `${result.verdict}: ${result.failure?.message ?? result.degradation ?? ''}`, result };
}

/** Numbered events every `everyMs` from Last-Event-ID on; `endAfter` events per stream, then a clean end. */
function ticker(req: http.IncomingMessage, res: http.ServerResponse, everyMs: number, options: { retry?: number; endAfter?: number } = {}): void {
  res.writeHead(200, STREAM);
  if (options.retry !== undefined) res.write(`retry: ${options.retry}\n\n`);
  let n = Number(req.headers['last-event-id'] ?? 0);
  let sent = 0;
  const timer = setInterval(() => {
    if (options.endAfter !== undefined && sent >= options.endAfter) return void (clearInterval(timer), res.end());
    sent++;
    res.write(`id: ${++n}\ndata: {"n":${n}}\n\n`);
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

const routes: Record<string, http.RequestListener> = {
  // §1: a healthy stream, an event every 200 ms, asking for a 1 s retry: wait.
  '/cadence': (req, res) => ticker(req, res, 200, { retry: 1000 }),
  // §2: ends every stream after 6 events (~1.2 s), retry: 300, ids continuous.
  '/rotating': (req, res) => ticker(req, res, 200, { retry: 300, endAfter: 6 }),
  // §4: one event, then bytes of a line that never ends.
  '/unterminated': (_req, res) => {
    res.writeHead(200, STREAM);
    res.write('id: 1\ndata: one\n\n');
    const timer = setInterval(() => res.write('x'.repeat(16)), 100);
    res.on('close', () => clearInterval(timer));
  },
  // §4: a buffering proxy: an event made every 100 ms, flushed in bursts every second.
  '/bursts': (_req, res) => {
    res.writeHead(200, STREAM);
    let held: string[] = [];
    const make = setInterval(() => held.push(`data: {"at":${Date.now()}}\n\n`), 100);
    const flush = setInterval(() => (held.length > 0 && res.write(held.join('')), (held = [])), 1_000);
    res.on('close', () => (clearInterval(make), clearInterval(flush)));
  },
  // §4: accepts the request and never answers.
  '/no-headers': () => undefined,
};

describe('classes of targets, through `flowprobe probe`', { timeout: 60_000, concurrency: true }, () => {
  let server: Running;
  let resetting: Running;
  let configFile: string;
  before(async () => {
    server = await httpServer((req, res) => (routes[req.url ?? ''] ?? ((_q, r) => void r.writeHead(404).end()))(req, res));
    // §3: one event, then a real RST (once the bytes are out).
    resetting = await tcpServer((socket) =>
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nid: 1\ndata: one\n\n', () => setTimeout(() => socket.resetAndDestroy(), 50))),
    );
    const sse = (name: string, url: string, extra: string) => `- name: ${name}\n  kind: sse\n  url: ${url}\n  every: 1m\n  timeout: 10s\n${extra}`;
    configFile = configDir('probesDir: probes\n', {
      'classes.yaml': [
        sse('cadence', `${server.url}/cadence`, '  hold: 3s\n  resume: { after: 1s }\n  degradeWhen: { maxGap: 500ms }\n'),
        sse('rotating', `${server.url}/rotating`, '  hold: 4s\n  holdFull: true\n  expect: { maxGap: 500ms }\n'),
        sse('reset', resetting.url, '  hold: 2s\n  holdFull: true\n'),
        sse('unterminated', `${server.url}/unterminated`, '  hold: 5s\n  expect: { maxGap: 1s }\n'),
        sse('bursts', `${server.url}/bursts`, '  hold: 3s\n  holdFull: true\n  expect: { firstEventWithin: 500ms }\n'),
        sse('bursts-soft', `${server.url}/bursts`, '  hold: 3s\n  holdFull: true\n  degradeWhen: { maxGap: 500ms }\n'),
        `- name: no-headers\n  kind: http\n  url: ${server.url}/no-headers\n  every: 1m\n  timeout: 1s\n`,
      ].join(''),
    }).configFile;
  });
  after(async () => {
    await server.close();
    await resetting.close();
  });

  it('§1 a healthy stream with a planned resume and a 1 s retry: is ok: the reconnect is its own figure, not a gap', async () => {
    const r = await flowprobe(configFile, 'cadence');
    assert.equal(r.result.verdict, 'ok', r.text);
    assert.ok(Number(r.result.detail.longestGapMs) < 1_000, `${r.text}: the 1 s retry: wait is not a gap`);
    assert.ok(Number(r.result.detail.reconnectMs) >= 1_000, r.text);
  });

  it('§2 a server that rotates its streams is followed as an EventSource would: ok, reconnects counted', async () => {
    const r = await flowprobe(configFile, 'rotating');
    assert.equal(r.result.verdict, 'ok', r.text);
    assert.ok(Number(r.result.detail.serverEnds) >= 2, r.text);
    assert.equal(r.result.detail.missingIds, 0);
    assert.equal(r.result.detail.reconnects, r.result.detail.serverEnds);
  });

  it('§3 a TCP reset after one event reads as a reset', async () => {
    const r = await flowprobe(configFile, 'reset');
    assert.equal(r.code, 1);
    assert.equal(r.result.failure?.code, 'closed', r.text);
    assert.match(r.result.failure?.message ?? '', /^connection reset by the peer after 1 event\(s\)/);
  });

  it('§4 a silence with bytes of a line that never ended says so', async () => {
    const r = await flowprobe(configFile, 'unterminated');
    assert.equal(r.result.failure?.code, 'stale', r.text);
    assert.match(r.result.failure?.message ?? '', /^no event for 1s \(maxGap 1s\): \d+B of a line that never ended, after 1 event\(s\)$/);
  });

  it('§4 events in bursts are named first when a time figure fails or degrades', async () => {
    const [failed, degraded] = await Promise.all([flowprobe(configFile, 'bursts'), flowprobe(configFile, 'bursts-soft')]);
    assert.equal(failed.result.failure?.code, 'assertion', failed.text);
    assert.match(failed.result.failure?.message ?? '', /^events arrive in bursts of \d+ every [\d.]+m?s \(buffering in front of the stream\?\): first event [\d.]+m?s > 500ms$/);
    assert.equal(degraded.result.verdict, 'degraded', degraded.text);
    assert.match(degraded.result.degradation ?? '', /^events arrive in bursts of \d+ every [\d.]+m?s \(buffering in front of the stream\?\): longest gap [\d.]+m?s > 500ms, over its degrade limit$/);
  });

  it('§4 no library phrase after the cause: "no response headers after 1s"', async () => {
    const r = await flowprobe(configFile, 'no-headers');
    assert.equal(r.result.failure?.code, 'timeout', r.text);
    assert.match(r.result.failure?.message ?? '', /^no response headers after [\d.]+m?s$/);
  });
});
