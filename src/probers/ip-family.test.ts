// ipFamily on every network probe, against servers listening on only one loopback family
// (127.0.0.1 or ::1): which family a run used is reported, `ipv6` to an IPv4-only server is
// refused by the network, and `both` fails when either family fails, naming it.
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { httpSpec, sseSpec, wsSpec } from '../../test/probe-spec.js';
import { createRedactor } from '../logging/redact.js';
import { runProbe } from './run-probe.js';
import type { ProbeResult } from './types.js';

function run(spec: Parameters<typeof runProbe>[0]): Promise<ProbeResult> {
  const now = Date.now();
  return runProbe(spec, { signal: AbortSignal.timeout(2_000), runId: 'family-test', redact: createRedactor([]) }, { slot: now, startedAt: now });
}

/** An HTTP server (plain answers, an event stream, WebSocket echo) on one address only. */
async function listenOn(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/stream') return void (res.writeHead(200, { 'content-type': 'text/event-stream' }), res.write('id: 1\ndata: x\n\n'));
    res.end('ok');
  });
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => (wss.close(), server.closeAllConnections(), server.close(() => resolve()))) };
}

describe('ipFamily on every network probe', () => {
  let v4: Awaited<ReturnType<typeof listenOn>>;
  let v6: Awaited<ReturnType<typeof listenOn>>;
  before(async () => {
    v4 = await listenOn('127.0.0.1');
    v6 = await listenOn('::1');
  });
  after(async () => {
    await v4.close();
    await v6.close();
  });

  it('reports the address and family a run used, on http, sse and websocket, over ::1 and 127.0.0.1', async () => {
    const runs = await Promise.all([
      run(httpSpec({ url: `http://[::1]:${v6.port}/`, ipFamily: 'ipv6' })),
      // A hold long enough for a first run in a fresh process (imports, JIT) to get its headers:
      // at 100ms the window ran out before them on a busy machine ("no response headers within
      // the 103ms window").
      run(sseSpec({ url: `http://[::1]:${v6.port}/stream`, hold: '1s' })),
      run(wsSpec({ url: `ws://[::1]:${v6.port}/` })),
      run(httpSpec({ url: `http://127.0.0.1:${v4.port}/`, ipFamily: 'ipv4' })),
      run(wsSpec({ url: `ws://127.0.0.1:${v4.port}/` })),
    ]);
    const seen = runs.map((r) => [r.kind, r.verdict, r.remote?.address, r.remote?.family]);
    assert.deepEqual(seen, [
      ['http', 'ok', '::1', 6],
      ['sse', 'ok', '::1', 6],
      ['websocket', 'ok', '::1', 6],
      ['http', 'ok', '127.0.0.1', 4],
      ['websocket', 'ok', '127.0.0.1', 4],
    ]);
  });

  it('both: each family probed; the run fails when either fails and its headline names the family', async () => {
    // The same name for both families: "localhost" where the resolver gives both, else the
    // IPv6 leg fails in DNS — which is what `both` is there to catch (a missing AAAA record).
    const addresses = await lookup('localhost', { all: true });
    const dual = addresses.some((a) => a.family === 6) && addresses.some((a) => a.family === 4);
    const onlyV4 = await run(httpSpec({ url: `http://localhost:${v4.port}/`, ipFamily: 'both' }));
    assert.equal(onlyV4.verdict, 'failed');
    assert.deepEqual(onlyV4.families?.map((f) => [f.family, f.verdict]), [['IPv4', 'ok'], ['IPv6', 'failed']]);
    if (dual) {
      assert.match(onlyV4.ok ? '' : onlyV4.failure.message, /^IPv6: connection refused: nothing listens there .*; IPv4 ok$/);
    } else {
      process.stderr.write('ip-family: localhost has no IPv6 address here: the IPv6 leg is checked failing in DNS\n');
      assert.match(onlyV4.ok ? '' : onlyV4.failure.message, /^IPv6: the host name has no address of that IP family \(DNS\) \(.*localhost has no IPv6 address.*\); IPv4 ok$/);
      assert.equal(onlyV4.ok ? '' : onlyV4.failure.code, 'dns');
    }
    assert.equal(onlyV4.families?.[0]?.address, '127.0.0.1');
  });

  it('ipv6 to a server that listens on IPv4 only is refused by the network, not silently sent over IPv4', async () => {
    const r = await run(wsSpec({ url: `ws://localhost:${v4.port}/`, ipFamily: 'ipv6' }));
    assert.equal(r.verdict, 'failed');
    assert.ok(r.ok || ['connect', 'dns'].includes(r.failure.code), r.ok ? '' : r.failure.message);
  });

  it('refuses a family that is not one (and, in config/load.test.ts, one that contradicts the url\'s address)', () => {
    assert.throws(() => httpSpec({ url: 'http://127.0.0.1:1/', ipFamily: 'sometimes' }), /expected auto, ipv4, ipv6 or both/);
  });
});
