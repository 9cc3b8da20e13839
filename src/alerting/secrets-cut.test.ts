// Secrets never leak, however text is cut or encoded. Four paths, each once leaking part of a
// 40-character canary: a WebSocket 401's challenge cut before redaction; a receiver's error body
// cut before redaction; a secret with ' sent in a query (where it becomes %27); a secret with two
// spaces and a tab in a body excerpt (whitespace collapsed). No 12-character piece of any canary
// may show in the log, the metrics, the API, the pages, the state files or any notification.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import http from 'node:http';
import { startDaemon } from '../../test/daemon-harness.js';
import { httpServer, webhookSink } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { formsOf } from '../logging/redact.js';

const WS_TOKEN = 'wsTOKENq1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j';
const HOOK_TOKEN = 'hookTOKENz1x2c3v4b5n6m7q8w9e0r1t2y3u4i5o';
const QUOTED = "quoted'SECRETk1j2h3g4f5'd6s7a8p9o0i1u2y3";
const SPACED = 'spaced  SECRET\tm1n2b3v4c5x6z7l8k9j0h1g2';
const CANARIES = [WS_TOKEN, HOOK_TOKEN, QUOTED, SPACED];
const FILLER = 'x'.repeat(180);

/** Every 12-character window of a canary's letters and digits (the part an encoding keeps). */
function pieces(canary: string): string[] {
  const core = canary.replace(/[^A-Za-z0-9]/g, '');
  return Array.from({ length: core.length - 11 }, (_, i) => core.slice(i, i + 12));
}

it('no piece of a secret survives a cut, a percent-encoding or collapsed whitespace, anywhere', { timeout: 60_000 }, async () => {
  // A target that echoes what it was sent: the query (%27 for ') and a header (two spaces, a tab).
  const target = await httpServer((req, res) => void res.writeHead(500).end(`${FILLER} you sent ${req.url} with ${String(req.headers['x-key'])}`));
  // A receiver whose error answer quotes its token past the first 200 bytes.
  const hook = await httpServer((_req, res) => void res.writeHead(500).end(`${FILLER} bad token ${HOOK_TOKEN} rejected`));
  const sink = await webhookSink();
  // A WebSocket endpoint that refuses the token, quoting it deep in its challenge.
  const upgrade = http.createServer();
  upgrade.on('upgrade', (_req, socket) => {
    // The client may reset the connection as it reads the refusal: that is no error of the test.
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error="invalid_token", error_description="${FILLER} token ${WS_TOKEN} expired"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  await new Promise<void>((resolve) => upgrade.listen(0, '127.0.0.1', resolve));
  const wsPort = (upgrade.address() as { port: number }).port;
  const config = [
    'probesDir: probes',
    'stateDir: state',
    'detect: { failAfter: 1 }',
    'alerting:',
    '  group: { wait: 10ms, interval: 50ms }',
    '  retry: { initial: 50ms, max: 100ms }',
    '  receiverFailingAfter: 1s',
    '  receivers:',
    `    - { name: hook, webhook: { url: "${hook.url}/", headers: { x-token: "\${HOOK_TOKEN}" } } }`,
    `    - { name: pager, webhook: { url: "${sink.url}/" } }`,
    '',
  ].join('\n');
  const h = await startDaemon(
    config,
    {
      'ws.yaml': `name: ws-locked\nkind: websocket\nevery: 300ms\ntimeout: 250ms\nurl: ws://127.0.0.1:${wsPort}/\nauth: { token: "\${WS_TOKEN}", in: header }\n`,
      'http.yaml': `name: echo\nkind: http\nevery: 300ms\ntimeout: 250ms\nurl: "${target.url}/?key=\${QUOTED}"\nheaders: { x-key: "\${SPACED}" }\nexpect: { bodyContains: fine }\n`,
    },
    { WS_TOKEN, HOOK_TOKEN, QUOTED, SPACED },
  );
  try {
    // Sanity: the forms the daemon meets are among those it removes.
    assert.ok(formsOf(QUOTED).some((f) => f.includes('%27')));
    assert.ok(formsOf(SPACED).includes(SPACED.replace(/\s+/g, ' ')));
    await waitFor('the 401 headline', () => h.logs.find((l) => l.includes('"probe":"ws-locked"') && l.includes('upgrade refused with 401')), 15_000);
    await waitFor('the echo failure', () => h.logs.find((l) => l.includes('"probe":"echo"') && l.includes('body contains')), 15_000);
    await waitFor('the hook failing, reported through the pager', () => sink.bodies.find((b) => b.includes('FlowprobeReceiverFailing')), 20_000);
    h.daemon.saveState();
    const stateDir = path.join(h.dir.dir, 'state');
    const everything = [
      h.logs.join('\n'),
      (await h.get('/metrics')).text,
      (await h.get('/api/v1/status')).text,
      (await h.get('/api/v1/status?probe=ws-locked')).text,
      (await h.get('/api/v1/status?probe=echo')).text,
      (await h.get('/api/v1/alerts')).text,
      (await h.get('/')).text,
      (await h.get('/probes/ws-locked')).text,
      (await h.get('/probes/echo')).text,
      (await h.get('/alerts')).text,
      ...readdirSync(stateDir).map((f) => readFileSync(path.join(stateDir, f), 'utf8')),
      ...sink.bodies,
    ].join('\n');
    assert.ok(everything.includes('[REDACTED]'), 'the secrets were there to be removed');
    for (const canary of CANARIES) {
      for (const piece of pieces(canary)) {
        const at = everything.indexOf(piece);
        assert.equal(at, -1, `a piece of a secret (${piece}) leaked: …${everything.slice(Math.max(0, at - 120), at + 40)}`);
      }
    }
  } finally {
    await h.daemon.stop();
    await target.close();
    await hook.close();
    await sink.close();
    await new Promise<void>((resolve) => upgrade.close(() => resolve()));
  }
});
