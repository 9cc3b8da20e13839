// The tcp kind against real servers on loopback: a banner, an answer to what was sent, silence,
// a close, a reset, a refusal, a wrong banner, and TLS with the certificate figures.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { specOf } from '../../../test/probe-spec.js';
import { closedPort } from '../../../test/servers.js';
import { testPki } from '../../../test/tls.js';
import { createRedactor } from '../../logging/redact.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult } from '../types.js';

function run(fields: Record<string, unknown>, timeoutMs = 2_000): Promise<ProbeResult> {
  const now = Date.now();
  return runProbe(specOf('tcp', fields, timeoutMs), { signal: AbortSignal.timeout(timeoutMs), runId: 'tcp-test', redact: createRedactor([]) }, { slot: now, startedAt: now });
}

const headline = (r: ProbeResult) => (r.ok ? r.verdict : `${r.failure.code}: ${r.failure.message}`);

describe('tcp kind against real servers', () => {
  const servers: net.Server[] = [];
  const serve = async (onSocket: (s: net.Socket) => void, server: net.Server = net.createServer(onSocket)): Promise<number> => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const ports: Record<string, number> = {};
  before(async () => {
    ports.smtp = await serve((s) => s.write('220 mail.example ESMTP ready\r\n'));
    ports.echo = await serve((s) => s.on('data', (d) => d.toString().startsWith('PING') && s.write('+PONG\r\n')));
    ports.silent = await serve(() => undefined);
    ports.closing = await serve((s) => s.end('bye\r\n'));
    ports.reset = await serve((s) => s.write('2', () => setTimeout(() => s.resetAndDestroy(), 30)));
    ports.ssh = await serve((s) => s.write('SSH-2.0-OpenSSH_9.2\r\n'));
  });
  after(() => {
    for (const s of servers) s.close();
  });
  const url = (name: string) => `tcp://127.0.0.1:${ports[name]}`;

  it('reads a banner and an answer to what it sent; times the connect; reports the address', async () => {
    const [banner, echo, connectOnly] = await Promise.all([
      run({ url: url('smtp'), expect: { reply: { matches: '^220 ', within: '1s' } } }),
      run({ url: url('echo'), send: 'PING\r\n', expect: { reply: { matches: '^\\+PONG' } } }),
      run({ url: url('silent') }),
    ]);
    assert.deepEqual([headline(banner), headline(echo), headline(connectOnly)], ['ok', 'ok', 'ok']);
    assert.equal((echo.detail as { sent: number }).sent, 6);
    assert.ok((banner.phases.connect ?? 0) > 0 && banner.remote?.address === '127.0.0.1');
  });

  it('names what went wrong: silence, a close, a reset, a refusal, a banner that is not the one expected', async (t) => {
    const refused = `tcp://127.0.0.1:${await closedPort()}`;
    const [silent, closing, reset, wrong, refusedRun] = await Promise.all([
      run({ url: url('silent'), expect: { reply: { matches: '^220', within: '200ms' } } }),
      run({ url: url('closing'), expect: { reply: { matches: '^220' } } }),
      run({ url: url('reset'), expect: { reply: { matches: '^220' } } }),
      run({ url: url('ssh'), expect: { reply: { matches: '^220', within: '300ms' } } }),
      run({ url: refused }),
    ]);
    assert.equal(headline(silent), 'timeout: no reply within 200ms: nothing came');
    assert.equal(headline(closing), 'closed: the server closed the connection after 5B, without a reply matching /^220/: came "bye"');
    assert.equal(headline(wrong), 'assertion: reply did not match /^220/: came "SSH-2.0-OpenSSH_9.2"');
    assert.match(headline(refusedRun), /^connect: connection refused: nothing listens there/);
    // A reset with a write pending can leave the server as a FIN under load: either way, closed.
    assert.match(headline(reset), /^closed: (connection reset by the peer after 1B: came "2"|the server closed the connection after 1B)/);
    t.diagnostic(headline(reset));
  });

  it('tcps: TLS over the connection, with the certificate figures and limits', async (t) => {
    let pki;
    try {
      pki = testPki();
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      return t.skip(`openssl missing: ${String(error)}`);
    }
    const port = await serve((s) => s.end('220 tls ready\r\n'), tls.createServer({ key: pki.expiring.key, cert: pki.expiring.cert }, (s) => s.end('220 tls ready\r\n')));
    const r = await run({ url: `tcps://localhost:${port}`, tls: { ca: pki.root.certFile }, expect: { reply: { matches: '^220' }, certExpiresIn: '7d' } });
    assert.equal(headline(r), 'tls: certificate for localhost (leaf) expires in 4 days, ' + new Date(r.tls?.earliestNotAfter ?? 0).toISOString().slice(0, 10) + ', under 7d');
    assert.equal(r.tls?.issuer, 'flowprobe test root');
  });

  it('refuses what is not host:port, at load', () => {
    assert.throws(() => specOf('tcp', { url: 'tcp://127.0.0.1' }, 1000), /expected a tcp:\/\/host:port or tcps:\/\/host:port address/);
    assert.throws(() => specOf('tcp', { url: 'tcp://127.0.0.1:25', expect: { reply: { matches: '(a)\\1' } } }, 1000), /RE2/);
  });
});
