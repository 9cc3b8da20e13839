// Certificates on every TLS connection, against servers with openssl-made certificates: what a
// run reports (subject, SANs, issuer, the earliest expiry in the chain, version, cipher,
// verified), the certExpiresIn limit (failed and degraded, with whose certificate and when in
// the headline), each verification failure named, and the same through `flowprobe probe`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { requireBinary } from '../../test/binaries.js';
import { configDir } from '../../test/config-dir.js';
import { httpSpec, specOf, sseSpec, wsSpec } from '../../test/probe-spec.js';
import tls from 'node:tls';
import { testPki, type Pem, type TestPki } from '../../test/tls.js';
import { createRedactor } from '../logging/redact.js';
import { runProbe } from './run-probe.js';
import type { ProbeResult } from './types.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const tlsSpec = (fields: Record<string, unknown>) => specOf('tls', fields, 3000);

function run(spec: Parameters<typeof runProbe>[0], timeoutMs = 3000): Promise<ProbeResult> {
  const now = Date.now();
  return runProbe(spec, { signal: AbortSignal.timeout(timeoutMs), runId: 'tls-test', redact: createRedactor([]) }, { slot: now, startedAt: now });
}

interface Server {
  url: string;
  close(): Promise<void>;
}

/** An HTTPS server presenting `chain` (leaf first): a plain answer, an event stream, and WebSocket upgrades. */
async function serve(leaf: Pem, extra: Pem[] = [], options: https.ServerOptions = {}): Promise<Server> {
  const server = https.createServer({ key: leaf.key, cert: Buffer.concat([leaf.cert, ...extra.map((p) => p.cert)]), ...options }, (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: one\n\n');
      return;
    }
    res.end('secure');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://localhost:${port}`,
    close: () => new Promise<void>((resolve) => (wss.close(), server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const DAY = 86_400_000;

describe('TLS certificates on every TLS connection', () => {
  let pki: TestPki | undefined;
  const servers: Server[] = [];
  before(() => {
    // Made here, once: skipped loudly (or failed under CI) without openssl, test by test.
    try {
      pki = testPki();
    } catch (error) {
      if (process.env.CI === 'true') throw error;
    }
  });
  after(async () => {
    for (const s of servers) await s.close();
  });
  const started = async (leaf: (p: TestPki) => Pem, extra: (p: TestPki) => Pem[] = () => [], options: https.ServerOptions = {}) => {
    const p = pki as TestPki;
    const s = await serve(leaf(p), extra(p), options);
    servers.push(s);
    return s;
  };
  const ready = (t: Parameters<typeof requireBinary>[0]) => requireBinary(t, 'openssl', 'openssl') !== undefined && pki !== undefined;

  it('reports the leaf, its issuer, the earliest expiry in the chain (an intermediate before its leaf), version and cipher; certExpiresIn fails on the earliest', async (t) => {
    if (!ready(t)) return;
    const p = pki as TestPki;
    const server = await started((k) => k.viaIntermediate, (k) => [k.intermediate]);
    const ok = await run(httpSpec({ url: server.url, tls: { ca: p.root.certFile } }));
    assert.equal(ok.verdict, 'ok', ok.ok ? '' : ok.failure.message);
    const tls = ok.tls;
    assert.ok(tls, 'a TLS report');
    assert.equal(tls.subject, 'localhost');
    assert.deepEqual(tls.sans, ['localhost', '127.0.0.1']);
    assert.equal(tls.issuer, 'flowprobe test intermediate');
    assert.equal(tls.earliestOf, 'flowprobe test intermediate');
    assert.ok(tls.notAfter - Date.now() > 80 * DAY, 'the leaf: 90 days');
    assert.ok(tls.earliestNotAfter - Date.now() < 3 * DAY + 60_000, 'the intermediate: 3 days');
    assert.ok(tls.verified);
    assert.match(tls.version ?? '', /^TLSv1\.[23]$/);
    assert.ok(tls.cipher);

    const limited = await run(httpSpec({ url: server.url, tls: { ca: p.root.certFile }, expect: { certExpiresIn: '7d' } }));
    assert.equal(limited.ok ? 'ok' : limited.failure.code, 'tls');
    assert.match(limited.ok ? '' : limited.failure.message, /^certificate for flowprobe test intermediate \(in the chain of localhost\) expires in 2 days, \d{4}-\d\d-\d\d, under 7d$/);
  });

  it('degrades under degradeWhen.certExpiresIn and fails under expect.certExpiresIn, naming the leaf and the date — on http, sse and websocket alike', async (t) => {
    if (!ready(t)) return;
    const p = pki as TestPki;
    const server = await started((k) => k.expiring);
    const limits = { tls: { ca: p.root.certFile }, degradeWhen: { certExpiresIn: '21d' }, expect: { certExpiresIn: '1d' } };
    const results = await Promise.all([
      run(httpSpec({ url: server.url, ...limits })),
      run(sseSpec({ url: `${server.url}/stream`, hold: '200ms', ...limits })),
      run(wsSpec({ url: server.url.replace('https:', 'wss:'), ...limits })),
    ]);
    for (const r of results) {
      assert.equal(r.verdict, 'degraded', `${r.kind}: ${r.ok ? '' : r.failure.message}`);
      assert.match(r.verdict === 'degraded' ? r.degradation : '', /^certificate for localhost \(leaf\) expires in 4 days, \d{4}-\d\d-\d\d, under 21d, over its degrade limit$/, r.kind);
      assert.ok(r.checks.some((c) => c.name === 'certificate' && c.degraded), r.kind);
      assert.equal(r.tls?.issuer, 'flowprobe test root', r.kind);
    }
    const failing = await run(httpSpec({ url: server.url, tls: { ca: p.root.certFile }, expect: { certExpiresIn: '7d' } }));
    assert.match(failing.ok ? '' : failing.failure.message, /^certificate for localhost \(leaf\) expires in 4 days, \d{4}-\d\d-\d\d, under 7d$/);
  });

  const refused: Array<[string, (p: TestPki) => Pem, (p: TestPki) => Pem[], RegExp]> = [
    ['an expired certificate', (k) => k.expired, () => [], /^TLS: the certificate has expired \(CERT_HAS_EXPIRED: localhost \(leaf: localhost, 127\.0\.0\.1\), issuer flowprobe test root, valid until 2020-02-01\)$/],
    ['a certificate for another host', (k) => k.wrongHost, () => [], /^TLS: the certificate does not match the host name \(ERR_TLS_CERT_ALTNAME_INVALID: example\.invalid/],
    ['a self-signed certificate', (k) => k.selfSigned, () => [], /^TLS: the server presents a self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT: localhost/],
    ['a chain missing its intermediate', (k) => k.viaIntermediate, () => [], /^TLS: the certificate chain cannot be verified \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: localhost .*issuer flowprobe test intermediate/],
  ];
  for (const [name, leaf, extra, headline] of refused) {
    it(`refuses ${name}, naming it and the certificate, and still reports what it saw`, async (t) => {
      if (!ready(t)) return;
      const p = pki as TestPki;
      const server = await started(leaf, extra);
      const r = await run(httpSpec({ url: server.url, tls: { ca: p.root.certFile } }));
      assert.equal(r.ok ? 'ok' : r.failure.code, 'tls');
      assert.match(r.ok ? '' : r.failure.message, headline);
      assert.equal(r.tls?.verified, false);
      // insecureSkipVerify connects anyway, and says it did not verify.
      const skipped = await run(httpSpec({ url: server.url, tls: { insecureSkipVerify: true } }));
      assert.equal(skipped.verdict, 'ok', skipped.ok ? '' : skipped.failure.message);
      assert.equal(skipped.tls?.verified, false);
    });
  }

  it('mTLS: a server that requires a client certificate refuses a probe without one, in words, and accepts one with tls.cert and tls.key (http and websocket)', async (t) => {
    if (!ready(t)) return;
    const p = pki as TestPki;
    const server = await started((k) => k.expiring, () => [], { requestCert: true, rejectUnauthorized: true, ca: p.root.cert });
    const without = await run(httpSpec({ url: server.url, tls: { ca: p.root.certFile } }));
    assert.equal(without.ok ? 'ok' : without.failure.code, 'tls', without.ok ? '' : without.failure.message);
    assert.match(without.ok ? '' : without.failure.message, /^TLS: the server requires a client certificate \(/);
    const mutual = { ca: p.root.certFile, cert: p.client.certFile, key: p.client.keyFile };
    const [http, ws] = await Promise.all([run(httpSpec({ url: server.url, tls: mutual })), run(wsSpec({ url: server.url.replace('https:', 'wss:'), tls: mutual }))]);
    assert.equal(http.verdict, 'ok', http.ok ? '' : http.failure.message);
    assert.equal(ws.verdict, 'ok', ws.ok ? '' : ws.failure.message);
  });

  it('refuses a client certificate without its key, a key that does not match, and an unreadable file, at load', (t) => {
    if (!ready(t)) return;
    const p = pki as TestPki;
    assert.throws(() => httpSpec({ url: 'https://localhost/', tls: { cert: p.client.certFile } }), /expected cert and key together \(a client certificate needs both\), key is missing/);
    assert.throws(() => httpSpec({ url: 'https://localhost/', tls: { cert: p.client.certFile, key: p.expiring.keyFile } }), /expected a client certificate and its key: the key does not match the certificate/);
    assert.throws(() => httpSpec({ url: 'https://localhost/', tls: { cert: `${p.dir}/nope.pem`, key: p.client.keyFile } }), /cannot use client certificate .*nope\.pem/);
  });

  it('the tls kind: a TLS endpoint that is not HTTP — handshake timed, certificates reported and limited, ALPN, refusals named', async (t) => {
    if (!ready(t)) return;
    const p = pki as TestPki;
    const endpoint = async (leaf: Pem) => {
      const server = tls.createServer({ key: leaf.key, cert: leaf.cert, ALPNProtocols: ['imap'] }, (socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push({ url: '', close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
      return `tls://localhost:${(server.address() as AddressInfo).port}`;
    };
    const good = await endpoint(p.expiring);
    const r = await run(tlsSpec({ url: good, tls: { ca: p.root.certFile }, alpn: ['imap'], degradeWhen: { certExpiresIn: '21d' } }));
    assert.equal(r.verdict, 'degraded', r.ok ? '' : r.failure.message);
    assert.match(r.verdict === 'degraded' ? r.degradation : '', /^certificate for localhost \(leaf\) expires in 4 days/);
    assert.equal(r.tls?.issuer, 'flowprobe test root');
    assert.ok((r.phases.tls ?? 0) > 0 && (r.phases.connect ?? 0) > 0);
    assert.deepEqual([(r.detail as { alpn?: string }).alpn, r.remote?.family], ['imap', 4]);
    const expired = await run(tlsSpec({ url: await endpoint(p.expired), tls: { ca: p.root.certFile } }));
    assert.match(expired.ok ? '' : expired.failure.message, /^TLS: the certificate has expired \(CERT_HAS_EXPIRED: localhost/);
    assert.throws(() => tlsSpec({ url: 'tls://localhost' }), /expected a tls:\/\/host:port address/);
  });

  it('refuses a certificate limit on a probe that does not speak TLS, where it is written', () => {
    // Through the loader: see config/load.test.ts for the file:line form.
    assert.throws(() => httpSpec({ url: 'http://127.0.0.1:1/', expect: { certExpiresIn: 'soon' } }), /expected a duration/);
  });

  it('`flowprobe probe` prints the certificate line: days left and issuer', async (t) => {
    if (!ready(t)) return;
    const p = pki as TestPki;
    const server = await started((k) => k.expiring);
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: api\nkind: http\nurl: ${server.url}/\ntls: { ca: ${p.root.certFile} }\ndegradeWhen: { certExpiresIn: 21d }\n` });
    const out = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [MAIN, 'probe', 'api', '--config', dir.configFile], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 20_000 });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.on('close', () => resolve(text));
    });
    assert.match(out, /→ {2}DEGRADED in /);
    assert.match(out, /\n {3}tls: TLSv1\.[23] \S+ · localhost \[localhost, 127\.0\.0\.1\] · issuer flowprobe test root · expires \d{4}-\d\d-\d\d \(in 4 days\) · verified\n/);
    assert.match(out, /degraded: certificate for localhost \(leaf\) expires in 4 days/);
  });
});
