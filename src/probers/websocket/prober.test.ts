import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { wsSpec } from '../../../test/probe-spec.js';
import { httpServer, tcpServer, type Running } from '../../../test/servers.js';
import { assertNoLeak } from '../../../test/handles.js';
import { createRedactor } from '../../logging/redact.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult } from '../types.js';
import type { WebSocketDetail } from './kind.js';

function probe(fields: Record<string, unknown>, timeoutMs = 3000): Promise<ProbeResult> {
  const spec = wsSpec(fields, timeoutMs);
  const now = Date.now();
  return runProbe(spec, { signal: AbortSignal.timeout(timeoutMs), runId: 'run-7', redact: createRedactor([]) }, { slot: now, startedAt: now });
}

const code = (r: ProbeResult) => (r.ok ? 'ok' : r.failure.code);
const message = (r: ProbeResult) => (r.ok ? '' : r.failure.message);
const ws = (r: ProbeResult) => r.detail as WebSocketDetail;
const JWT_SECRET = 'a-test-secret-that-is-long-enough';

type Behaviour = (socket: WebSocket, req: http.IncomingMessage) => void;

const behaviours: Record<string, Behaviour> = {
  // Speaks only when spoken to; sends unrelated chatter first.
  '/echo': (socket) =>
    socket.on('message', (data) => {
      socket.send('{"type":"noise"}');
      socket.send(data.toString());
    }),
  '/silent': () => undefined,
  '/drop': (socket) => socket.on('message', () => (socket as unknown as { _socket: net.Socket })._socket.destroy()),
  '/close-4001': (socket) => socket.close(4001, 'token expired'),
  '/close-1008': (socket) => socket.close(1008, 'policy'),
  '/swap': (socket) => {
    const held: string[] = [];
    socket.on('message', (data) => {
      held.push(data.toString());
      if (held.length === 2) socket.send(held.pop() as string), socket.send(held.pop() as string);
    });
  },
  '/drop-every-10th': (socket) => {
    let n = 0;
    socket.on('message', (data) => void (++n % 10 === 0 || socket.send(data.toString())));
  },
  '/slow-echo': (socket) => socket.on('message', (data) => setTimeout(() => socket.readyState === 1 && socket.send(data.toString()), 300)),
  '/jwt': (socket) =>
    socket.on('message', (data) => socket.send(data.toString())),
};

describe('WebSocket prober against real local servers', () => {
  let server: Running;
  let wssUrl: string;
  let refusing: Running;
  let raw: Running;
  let rawMode: 'bad-accept' | 'no-subprotocol' | 'huge' = 'bad-accept';
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('v2') ? 'v2' : false) });
  const mute = new WebSocketServer({ noServer: true, autoPong: false });
  before(async () => {
    const http = await import('node:http');
    const s = http.createServer((_req, res) => void res.writeHead(426).end());
    s.on('upgrade', async (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/jwt') {
        try {
          await jwtVerify(url.searchParams.get('token') ?? '', new TextEncoder().encode(JWT_SECRET), { algorithms: ['HS256'] });
        } catch {
          return void socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error="invalid_token", error_description="signature verification failed"\r\nContent-Length: 0\r\n\r\n');
        }
      }
      const target = url.pathname === '/half-open' ? mute : wss;
      target.handleUpgrade(req, socket, head, (client) => behaviours[url.pathname]?.(client, req));
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = (s.address() as net.AddressInfo).port;
    wssUrl = `ws://127.0.0.1:${port}`;
    server = { url: wssUrl, port, close: () => new Promise((resolve) => { s.closeAllConnections(); for (const c of [...wss.clients, ...mute.clients]) c.terminate(); s.close(() => resolve()); }) };
    refusing = await httpServer((req, res) => {
      const status = req.url === '/401' ? 401 : req.url === '/403' ? 403 : 200;
      res.writeHead(status).end('no websocket here');
    });
    raw = await tcpServer((socket) =>
      socket.once('data', (data) => {
        const key = /sec-websocket-key: (.+)\r\n/i.exec(data.toString())?.[1] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${rawMode === 'bad-accept' ? 'AAAA' : accept}\r\n\r\n`;
        socket.write(head);
        // A frame announcing a 100 MB binary message, then a trickle of its bytes.
        if (rawMode === 'huge') socket.write(Buffer.from([0x82, 127, 0, 0, 0, 0, 0x06, 0x40, 0, 0, 1, 2, 3]));
      }),
    );
  });
  after(async () => {
    await server.close();
    await refusing.close();
    await raw.close();
  });

  it('is degraded, not failed, when messages arrive out of order but all arrive', async () => {
    const burst = { count: 20, send: { json: { seq: '{{seq}}' } }, seqPath: '$.seq', within: '1s' };
    const r = await probe({ url: `${wssUrl}/swap`, burst, expect: { maxOutOfOrder: 20 }, degradeWhen: { maxOutOfOrder: 0 } });
    assert.equal(r.verdict, 'degraded', message(r));
    assert.equal(ws(r).missing, 0);
    assert.match(r.verdict === 'degraded' ? r.degradation : '', /^out of order 10, over its degrade limit: expected <= 0 \(degraded above, failed above 20\)/);
  });

  it('runs a scripted exchange, skipping unrelated messages, with RTT samples', async () => {
    const r = await probe({
      url: `${wssUrl}/echo`,
      steps: [{ send: { json: { type: 'hello', id: '{{run.id}}' } } }, { expect: { json: { '$.type': 'hello', '$.id': '{{run.id}}' }, within: '1s' } }],
      rtt: { samples: 5, send: { json: { seq: '{{seq}}' } }, match: { json: { '$.seq': '{{seq}}' } } },
      expect: { rttP95: '200ms' },
    });
    assert.equal(code(r), 'ok', message(r));
    assert.equal(ws(r).rttMs?.n, 5);
    assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), [['step 2 expect', true], ['rtt p95', true]]);
    assert.ok((r.phases.connect ?? -1) >= 0);
  });

  it('measures ping/pong RTT and holds with keepalive', async () => {
    const r = await probe({ url: `${wssUrl}/silent`, rtt: { samples: 3 }, hold: '300ms', keepalive: { every: '100ms', timeout: '200ms' } });
    assert.equal(code(r), 'ok', message(r));
    assert.equal(ws(r).rttMs?.n, 3);
  });

  it('checks the chosen subprotocol', async () => {
    const ok = await probe({ url: `${wssUrl}/silent`, subprotocols: ['v1', 'v2'], expect: { subprotocol: 'v2' } });
    assert.equal(code(ok), 'ok', message(ok));
    assert.equal(ws(ok).subprotocol, 'v2');
    const wrong = await probe({ url: `${wssUrl}/silent`, subprotocols: ['v2'], expect: { subprotocol: 'v3' } });
    assert.equal(code(wrong), 'handshake');
  });

  it('mints a JWT per run that the server accepts; a wrong secret is refused as auth', async () => {
    const ok = await probe({ url: `${wssUrl}/jwt`, auth: { jwt: { secret: JWT_SECRET, in: 'query', expiresIn: '30s' } }, steps: [{ send: { text: 'x' } }, { expect: { text: 'x' } }] });
    assert.equal(code(ok), 'ok', message(ok));
    const bad = await probe({ url: `${wssUrl}/jwt`, auth: { jwt: { secret: 'the-wrong-secret-entirely-0123456789', in: 'query' } } });
    assert.equal(code(bad), 'auth');
    assert.match(message(bad), /^upgrade refused with 401: invalid_token: signature verification failed$/);
  });

  const failures: Array<[string, () => Record<string, unknown>, string, RegExp]> = [
    ['200 instead of 101', () => ({ url: `${refusing.url.replace('http', 'ws')}/200` }), 'handshake', /expected 101 Switching Protocols, got 200/],
    ['401 on upgrade', () => ({ url: `${refusing.url.replace('http', 'ws')}/401` }), 'auth', /upgrade refused with 401/],
    ['403 on upgrade', () => ({ url: `${refusing.url.replace('http', 'ws')}/403` }), 'auth', /upgrade refused with 403/],
    ['silent after upgrade', () => ({ url: `${wssUrl}/silent`, steps: [{ send: { text: 'hi' } }, { expect: { text: 'hi', within: '200ms' } }] }), 'assertion', /step 2 expect: nothing matched within 200ms/],
    ['TCP drop without a close frame', () => ({ url: `${wssUrl}/drop`, steps: [{ send: { text: 'hi' } }, { expect: { text: 'hi', within: '1s' } }] }), 'closed', /without a close frame \(1006\)/],
    ['close 4001', () => ({ url: `${wssUrl}/close-4001`, steps: [{ expect: { text: 'never', within: '1s' } }] }), 'auth', /closed with 4001 \(token expired\)/],
    ['close 1008', () => ({ url: `${wssUrl}/close-1008`, steps: [{ expect: { text: 'never', within: '1s' } }] }), 'auth', /closed with 1008/],
    ['messages swapped', () => ({ url: `${wssUrl}/swap`, burst: { count: 20, send: { json: { seq: '{{seq}}' } }, seqPath: '$.seq', within: '1s' } }), 'assertion', /^10 of 20 burst messages out of order \(50\.0%\), e\.g\. 2 before 1 \(limit <= 0\)$/],
    ['every 10th message dropped', () => ({ url: `${wssUrl}/drop-every-10th`, burst: { count: 100, send: { json: { seq: '{{seq}}' } }, seqPath: '$.seq', within: '300ms' } }), 'assertion', /^10 of 100 burst messages lost \(10\.0%\): 10, 20, 30, 40, 50, … never came back \(limit <= 0\)$/],
    ['300 ms slow echo', () => ({ url: `${wssUrl}/slow-echo`, rtt: { samples: 2, send: { text: 'p{{seq}}' }, match: { text: 'p{{seq}}' } }, expect: { rttP95: '50ms' } }), 'assertion', /^rtt p95: expected <= 50ms, observed \d/],
    ['a half-open socket', () => ({ url: `${wssUrl}/half-open`, hold: '1s', keepalive: { every: '100ms', timeout: '200ms' } }), 'timeout', /no pong within 200ms: the connection is half-open/],
    ['a wrong Sec-WebSocket-Accept', () => ((rawMode = 'bad-accept'), { url: raw.url.replace('http', 'ws') }), 'handshake', /Invalid Sec-WebSocket-Accept header/],
    ['a subprotocol not echoed', () => ((rawMode = 'no-subprotocol'), { url: raw.url.replace('http', 'ws'), subprotocols: ['v1'] }), 'handshake', /Server sent no subprotocol/],
    ['a 100 MB message', () => ((rawMode = 'huge'), { url: raw.url.replace('http', 'ws'), steps: [{ expect: { text: 'x', within: '1s' } }] }), 'protocol', /Max payload size exceeded/],
  ];
  for (const [name, fields, expected, pattern] of failures) {
    it(`classifies ${name} as ${expected}`, async () => {
      const started = Date.now();
      const r = await probe(fields(), 3000);
      assert.equal(code(r), expected, message(r));
      assert.match(message(r), pattern);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms`);
    });
  }

  it('opens N connections at once and reports across them', async () => {
    const r = await probe({ url: `${wssUrl}/echo`, connections: 50, rtt: { samples: 2, send: { text: 'r{{seq}}' }, match: { text: 'r{{seq}}' } } });
    assert.equal(code(r), 'ok', message(r));
    assert.equal(ws(r).connectionsOk, 50);
    assert.equal(ws(r).handshakeMs?.n, 50);
    assert.equal(ws(r).rttMs?.n, 100);
  });

  it('keeps live memory and handles flat over 500 failing handshakes', async () => {
    const url = `${refusing.url.replace('http', 'ws')}/401`;
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 25) await Promise.all(Array.from({ length: 25 }, () => probe({ url }, 1000)));
    };
    await assertNoLeak('500 handshakes', () => round(50), () => round(500));
  });
});
