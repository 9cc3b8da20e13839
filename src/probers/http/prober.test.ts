import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireBinary } from '../../../test/binaries.js';
import { httpSpec } from '../../../test/probe-spec.js';
import { closedPort, httpServer, httpsServer, selfSigned, tcpServer, type Running } from '../../../test/servers.js';
import { createRedactor } from '../../logging/redact.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult } from '../types.js';

function probe(fields: Record<string, unknown>, timeoutMs = 2000, secrets: string[] = []): Promise<ProbeResult> {
  const spec = httpSpec(fields, timeoutMs);
  const signal = AbortSignal.timeout(timeoutMs);
  const now = Date.now();
  return runProbe(spec, { signal, runId: 'test-run', redact: createRedactor(secrets) }, { slot: now, startedAt: now });
}

function failureCode(result: ProbeResult): string {
  return result.ok ? 'ok' : result.failure.code;
}

describe('http prober against real local servers', () => {
  let server: Running;
  before(async () => {
    server = await httpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/ok':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ status: 'ok', items: [{ id: 1 }, { id: 2 }] }));
        case '/prometheus':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ status: 'success', state: 'ok', tags: ['eu', 'prod'], queue: { depth: 3 }, backlog: 183, data: { result: [{ metric: { job: 'api' }, value: [1, '0.25'] }, { metric: { job: 'db' }, value: [1, '0.9'] }] } }));
        case '/500':
          res.writeHead(500);
          return res.end('boom');
        case '/hang':
          return; // never answers
        case '/slow-body-sized':
          res.writeHead(200, { 'content-length': 100 });
          res.write('partial');
          return; // 7 of 100 bytes, then nothing
        case '/slow':
          setTimeout(() => res.end('slow but fine'), 120);
          return;
        case '/slow-body':
          res.writeHead(200);
          res.write('partial');
          return; // body never ends
        case '/loop':
          res.writeHead(302, { location: '/loop' });
          return res.end();
        case '/redirect':
          res.writeHead(301, { location: '/ok' });
          return res.end();
        case '/big':
          res.writeHead(200);
          return res.end(Buffer.alloc(2 * 1024 * 1024, 97));
        case '/echo':
          res.writeHead(200, { 'content-type': 'application/json' });
          return req.pipe(res);
        default:
          res.writeHead(404);
          return res.end();
      }
    });
  });
  after(() => server.close());

  it('is degraded, not failed, when only a degradeWhen limit is crossed', async () => {
    const degraded = await probe({ url: `${server.url}/slow`, expect: { maxDuration: '5s' }, degradeWhen: { maxDuration: '30ms' } });
    assert.equal(degraded.verdict, 'degraded', JSON.stringify(degraded));
    assert.equal(degraded.ok, true);
    assert.match(degraded.verdict === 'degraded' ? degraded.degradation : '', /^duration \d[\d.]*m?s, over its degrade limit: expected <= 30ms \(degraded above, failed above 5s\)/);
    assert.deepEqual(degraded.checks.filter((c) => c.degraded).map((c) => c.name), ['duration']);
    const failed = await probe({ url: `${server.url}/slow`, expect: { maxDuration: '50ms' }, degradeWhen: { maxDuration: '30ms' } });
    assert.equal(failed.verdict, 'failed');
    assert.match(failed.ok ? '' : failed.failure.message, /^duration: expected <= 30ms \(degraded above, failed above 50ms\), observed/);
    const fine = await probe({ url: `${server.url}/ok`, degradeWhen: { maxDuration: '2s' } });
    assert.equal(fine.verdict, 'ok');
  });

  it('judges each phase against its own limits', async () => {
    const r = await probe({ url: `${server.url}/slow`, degradeWhen: { phases: { first_byte: '30ms' } }, expect: { phases: { connect: '5s' } } });
    assert.equal(r.verdict, 'degraded', JSON.stringify(r));
    assert.match(r.verdict === 'degraded' ? r.degradation : '', /^phase first_byte \d/);
    assert.ok(r.checks.some((c) => c.name === 'phase connect' && c.ok && !c.degraded));
    const missing = await probe({ url: `${server.url}/ok`, expect: { phases: { tls: '1s' } } });
    assert.equal(missing.verdict, 'failed', 'a phase with a fail limit that never happened fails');
    assert.match(missing.ok ? '' : missing.failure.message, /^phase tls: expected <= 1s, observed none/);
  });

  it('succeeds with phases and every check reported', async () => {
    const result = await probe({
      url: `${server.url}/ok`,
      expect: { status: 200, maxDuration: '1s', bodyContains: 'items', json: { '$.status': 'ok', '$.items[*].id': 2 }, headers: { 'content-type': 'json' } },
    });
    assert.equal(failureCode(result), 'ok');
    assert.deepEqual(result.checks.map((c) => [c.name, c.ok]), [
      ['status', true], ['duration', true], ['body contains', true], ['header content-type', true], ['json $.status', true], ['json $.items[*].id', true],
    ]);
    for (const phase of ['dns', 'connect', 'first_byte', 'download'] as const) assert.ok((result.phases[phase] ?? -1) >= 0, phase);
    assert.equal(result.phases.tls, undefined);
    assert.equal(result.detail.kind === 'http' && result.detail.status, 200);
  });

  it('reports a failed JSON check as assertion, naming expected and observed', async () => {
    const result = await probe({ url: `${server.url}/ok`, expect: { json: { '$.status': 'degraded' } } });
    assert.equal(failureCode(result), 'assertion');
    assert.ok(!result.ok && result.failure.message === '$.status "ok", expected == "degraded"', !result.ok ? result.failure.message : '');
    assert.deepEqual(result.checks.map((c) => [c.name, c.ok]), [['json $.status', false], ['status', true]], 'the failed check first');
  });

  it('checks JSON with operators and filters, the observed value beside the limit in the headline', async () => {
    const ok = await probe({
      url: `${server.url}/prometheus`,
      expect: { json: { '$.data.result[?(@.metric.job=="api")].value[1]': { matches: '^0\\.[0-4]' }, '$.queue.depth': { lt: 100, gte: 0 }, '$.data.result': { length: { min: 2 } }, '$.missing': { exists: false }, '$.tags': { contains: 'eu' }, '$.state': { in: ['ok', 'degraded'] } } },
    });
    assert.equal(failureCode(ok), 'ok', ok.ok ? '' : ok.failure.message);
    const deep = await probe({ url: `${server.url}/prometheus`, expect: { json: { '$.backlog': { lt: 100 } } } });
    assert.equal(failureCode(deep), 'assertion');
    assert.equal(deep.ok ? '' : deep.failure.message, '$.backlog 183, expected < 100');
    const typed = await probe({ url: `${server.url}/prometheus`, expect: { json: { '$.data.result[?(@.metric.job=="db")].value[1]': { gt: 0.5 } } } });
    assert.equal(typed.ok ? '' : typed.failure.message, '$.data.result[?(@.metric.job=="db")].value[1] "0.9" (a string, not a number), expected > 0.5');
  });

  it('checks headers with text operators: contains by default, matches, exists, the value beside the limit', async () => {
    const ok = await probe({ url: `${server.url}/ok`, expect: { headers: { 'content-type': 'json', 'x-absent': { exists: false }, 'Content-Type': { matches: '^application/' } } } });
    assert.equal(failureCode(ok), 'ok', ok.ok ? '' : ok.failure.message);
    const wrong = await probe({ url: `${server.url}/ok`, expect: { headers: { 'content-type': { eq: 'text/html' } } } });
    assert.equal(wrong.ok ? '' : wrong.failure.message, 'header content-type "application/json", expected == "text/html"');
    assert.throws(() => httpSpec({ url: server.url, expect: { headers: { 'content-length': { lt: 100 } } } }), /expected text operators for a header/);
  });

  it('classifies 5xx as http_status', async () => {
    const result = await probe({ url: `${server.url}/500` });
    assert.equal(failureCode(result), 'http_status');
    assert.ok(!result.ok && result.failure.message.startsWith('status: expected 2xx, observed 500'));
  });

  it('times out a server that never answers, within the deadline, saying no headers came', async () => {
    const started = Date.now();
    const result = await probe({ url: `${server.url}/hang` }, 300);
    assert.equal(failureCode(result), 'timeout');
    assert.match(result.ok ? '' : result.failure.message, /^no response headers after \d/);
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started}ms`);
  });

  it('times out a body that never ends, saying the headers came and how much of the body', async () => {
    const result = await probe({ url: `${server.url}/slow-body` }, 300);
    assert.equal(failureCode(result), 'timeout');
    assert.ok(result.phases.first_byte !== undefined, 'headers arrived before the stall');
    assert.match(result.ok ? '' : result.failure.message, /^headers received \(status 200\), body stalled after 7 bytes, /);
    const sized = await probe({ url: `${server.url}/slow-body-sized` }, 300);
    assert.match(sized.ok ? '' : sized.failure.message, /^headers received \(status 200\), body stalled after 7 of 100 bytes, /);
  });

  it('says a reset mid-body cut the body off, in words before any library code', async () => {
    const cut = await tcpServer((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789');
        setTimeout(() => socket.resetAndDestroy(), 20);
      }),
    );
    try {
      const result = await probe({ url: `${cut.url}/` });
      assert.equal(failureCode(result), 'closed', result.ok ? '' : result.failure.message);
      assert.match(result.ok ? '' : result.failure.message, /^headers received \(status 200\), body cut off after 10 of 100 bytes, .*: (connection reset by the peer|the server closed the connection)/);
    } finally {
      await cut.close();
    }
  });

  it('classifies a refused connection as connect', async () => {
    const result = await probe({ url: `http://127.0.0.1:${await closedPort()}/` });
    assert.equal(failureCode(result), 'connect');
  });

  it('classifies a reset after the request as closed', async () => {
    const reset = await tcpServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    try {
      const result = await probe({ url: `${reset.url}/` });
      assert.equal(failureCode(result), 'closed');
    } finally {
      await reset.close();
    }
  });

  it('classifies garbage instead of HTTP as protocol', async () => {
    const garbage = await tcpServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH\r\n\r\n')));
    try {
      assert.equal(failureCode(await probe({ url: `${garbage.url}/` })), 'protocol');
    } finally {
      await garbage.close();
    }
  });

  it('follows redirects and stops a redirect loop', async () => {
    const followed = await probe({ url: `${server.url}/redirect` });
    assert.equal(failureCode(followed), 'ok');
    assert.equal(followed.detail.kind === 'http' && followed.detail.redirects, 1);
    const loop = await probe({ url: `${server.url}/loop`, maxRedirects: 3 });
    assert.equal(failureCode(loop), 'http_status');
    assert.ok(!loop.ok && loop.failure.message.includes('redirect limit (3) exceeded'));
  });

  it('follows a redirect to another origin on a connection of its own, and one on the same origin on the same', async () => {
    const ports: number[] = [];
    const other = await httpServer((req, res) => {
      ports.push(req.socket.remotePort as number);
      if (req.url === '/hop') {
        res.writeHead(302, { location: '/there' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'there' }));
    });
    const first = await httpServer((_req, res) => {
      res.writeHead(301, { location: `${other.url}/hop` });
      res.end('moved');
    });
    try {
      const result = await probe({ url: `${first.url}/start`, expect: { status: 200, json: { '$.status': 'there' } } });
      assert.equal(failureCode(result), 'ok');
      assert.equal(result.detail.kind === 'http' && result.detail.redirects, 2);
      assert.equal(ports.length, 2, 'two requests to the other origin');
      assert.equal(ports[0], ports[1], 'the same-origin hop reused the connection');
    } finally {
      await Promise.all([first.close(), other.close()]);
    }
  });

  it('fails a body over maxBody with protocol, without reading it all', async () => {
    const result = await probe({ url: `${server.url}/big`, maxBody: '64KiB' });
    assert.equal(failureCode(result), 'protocol');
    assert.ok(result.detail.kind === 'http' && result.detail.bytes < 2 * 1024 * 1024);
  });

  it('sends a JSON body and checks the response', async () => {
    const result = await probe({ url: `${server.url}/echo`, method: 'POST', json: { marker: 'm-1' }, expect: { json: { '$.marker': 'm-1' } } });
    assert.equal(failureCode(result), 'ok');
  });

  it('fails a duration check as assertion', async () => {
    const slow = await httpServer((_req, res) => setTimeout(() => res.end('late'), 120));
    try {
      const result = await probe({ url: slow.url, expect: { maxDuration: '50ms' } });
      assert.equal(failureCode(result), 'assertion');
      assert.equal(result.checks.find((c) => c.name === 'duration')?.ok, false);
    } finally {
      await slow.close();
    }
  });

  it('refuses user:password@ in a URL where it is written (the client never sent it)', () => {
    assert.throws(() => httpSpec({ url: 'http://user:hunter2-secret@127.0.0.1:1/' }), /expected a URL without user:password@/);
  });
});

describe('http prober over TLS', () => {
  it('fails a self-signed certificate with tls, passes with the CA given', async (t) => {
    if (!requireBinary(t, 'openssl', 'openssl')) return;
    const cert = selfSigned();
    const server = await httpsServer(cert, (_req, res) => res.end('secure'));
    try {
      const untrusted = await probe({ url: server.url });
      assert.equal(failureCode(untrusted), 'tls');
      const trusted = await probe({ url: server.url, tls: { ca: cert.certFile }, expect: { bodyContains: 'secure' } });
      assert.equal(failureCode(trusted), 'ok');
      assert.ok((trusted.phases.tls ?? 0) > 0, 'tls phase measured');
    } finally {
      await server.close();
    }
  });

  it('times out a server that accepts TCP but never completes TLS', async () => {
    const silent = await tcpServer(() => undefined);
    try {
      const started = Date.now();
      const result = await probe({ url: silent.url.replace('http:', 'https:') }, 300);
      assert.equal(failureCode(result), 'timeout');
      assert.ok(Date.now() - started < 1500);
    } finally {
      await silent.close();
    }
  });
});
