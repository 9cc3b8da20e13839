// No regex can freeze the daemon. Each pattern below backtracks catastrophically in a
// backtracking engine on the input it meets here — a body, a WebSocket message, a watched
// process's command line, label values at an alert flush — and froze flowprobe until SIGKILL.
// A watchdog polls /healthz all along and fails the test if it goes unanswered for over 1 s.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { WebSocketServer } from 'ws';
import { startDaemon, type Harness } from '../daemon-harness.js';
import { httpServer, webhookSink } from '../servers.js';
import { waitFor } from '../wait.js';

const EVIL = '^(a+)+$';
const BAIT = `${'a'.repeat(40)}!`;
const TOKEN = 'freeze-test-api-token-0123456789';

/** Polls /healthz every 50 ms; `worst()` is the longest stretch without an answer. */
function watchdog(h: Harness) {
  let last = Date.now();
  let worst = 0;
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const started = Date.now();
      const ok = await fetch(`${h.base}/healthz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.ok, () => false);
      if (ok) {
        worst = Math.max(worst, Date.now() - last);
        last = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (Date.now() - started))));
    }
  })();
  return {
    worst: () => Math.max(worst, Date.now() - last),
    stop: () => void (stopped = true),
  };
}

it('patterns that backtrack forever in a body, a WebSocket message, a command line and a silence, and pid files that are /dev/zero or a FIFO: the daemon answers throughout', { timeout: 120_000 }, async () => {
  const target = await httpServer((_req, res) => res.end(BAIT));
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (socket) => (socket.on('error', () => undefined), socket.on('message', () => socket.send(BAIT))));
  await new Promise((resolve) => wss.once('listening', resolve));
  const wsPort = (wss.address() as { port: number }).port;
  // A process whose command line is the bait.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', `flowprobe-freeze-${BAIT}`], { stdio: 'ignore' });
  const sink = await webhookSink();
  // Pid files that are not: /dev/zero (grew the daemon to 4.3 GB) and a FIFO (froze it).
  const fifo = path.join(mkdtempSync(path.join(os.tmpdir(), 'flowprobe-fifo-')), 'pid');
  execFileSync('mkfifo', [fifo]);
  const config = [
    'probesDir: probes',
    `apiToken: ${TOKEN}`,
    'detect: { failAfter: 1, recoverAfter: 1 }',
    'resources:',
    '  interval: 200ms',
    `  processes: [{ name: bait, match: "(a+)+$" }, { name: zero, pidfile: /dev/zero }, { name: fifo, pidfile: ${fifo} }]`,
    'alerting:',
    `  receivers: [{ name: pager, webhook: { url: "${sink.url}/" } }]`,
    '  group: { wait: 10ms, interval: 50ms }',
    '',
  ].join('\n');
  // A probe whose name is the bait for the silence's pattern.
  const name = `${'a'.repeat(30)}x`;
  const h = await startDaemon(config, {
    'body.yaml': `name: ${name}\nkind: http\nevery: 1s\ntimeout: 800ms\nurl: ${target.url}/\nexpect: { bodyMatches: "${EVIL}" }\n`,
    'ws.yaml': `name: ws-bait\nkind: websocket\nevery: 1s\ntimeout: 800ms\nurl: ws://127.0.0.1:${wsPort}/\nsteps:\n  - send: { text: hello }\n  - expect: { regex: "${EVIL}", within: 500ms }\n`,
  });
  const dog = watchdog(h);
  try {
    const silenced = await fetch(`${h.base}/api/v1/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: { probe: '/([\\w-]*[\\w-]*[\\w-]*)*y/' }, duration: '1h', comment: 'evil' }),
    });
    assert.equal(silenced.status, 201, await silenced.text());
    // Each probe ran and failed its check (the pattern does not match the bait), the process was
    // found by its command line and went over its budget, and the failing probe's alert went
    // through the flush that evaluates the silence.
    await waitFor('the body check failed', () => h.logs.find((l) => l.includes(`"probe":"${name}"`) && l.includes('body matches: expected matches')), 20_000);
    await waitFor('the ws expect timed out', () => h.logs.find((l) => l.includes('"probe":"ws-bait"') && l.includes('probe failed')), 20_000);
    // The pattern does not match the bait command line (it ends in "!"): every sample scans the
    // process table with it, and the process reads as not running.
    await waitFor('the process table scanned with the pattern', () => h.logs.find((l) => l.includes('"process":"bait"') && l.includes('"to":"gone"')), 20_000);
    // The silence's pattern was evaluated against the bait name at the flush: it does not match
    // it (no "y"), so that probe's page went out.
    await waitFor('a page through the silence flush', () => sink.bodies.find((b) => b.includes(`"probe":"${name}"`)), 20_000);
    await waitFor('the pid files read as no process', () => ['zero', 'fifo'].every((p) => h.logs.some((l) => l.includes(`"process":"${p}"`) && l.includes('"to":"gone"'))) || undefined, 20_000);
    assert.ok(process.memoryUsage.rss() < 1024 ** 3, `rss ${process.memoryUsage.rss()}`);
    assert.ok(dog.worst() < 1_000, `/healthz went unanswered for ${dog.worst()} ms`);
  } finally {
    dog.stop();
    child.kill();
    await h.daemon.stop();
    await target.close();
    await sink.close();
    wss.close();
  }
});
