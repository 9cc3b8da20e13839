// The dns kind against a real DNS server (Debian's dnsmasq on a loopback port, with the test's
// own records), a server that never answers, a closed port, and a server that answers garbage.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { probeSchema } from '../../config/schema.js';
import { startDnsmasq, type Dnsmasq } from '../../../test/dnsmasq.js';
import { headlineOf, runOnce } from '../../../test/probe-spec.js';
import type { ProbeResult } from '../types.js';
import type { DnsDetail } from './kind.js';

const run = (fields: Record<string, unknown>, timeoutMs = 2_000) => runOnce('dns', fields, timeoutMs);

const headline = headlineOf;
const detailOf = (r: ProbeResult) => r.detail as DnsDetail;

/** A UDP socket on loopback that answers each query with `reply(query)` (or never, for undefined). */
async function udpServer(reply: (query: Buffer) => Buffer | undefined): Promise<{ server: string; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, peer) => {
    const answer = reply(query);
    if (answer) socket.send(answer, peer.port, peer.address);
  });
  const port = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
  return { server: `127.0.0.1:${port}`, close: () => socket.close() };
}

const BIG_TXT = Array.from({ length: 4 }, (_, i) => String(i).repeat(200));

describe('dns kind against dnsmasq', () => {
  let plain: Dnsmasq | undefined;
  let zone: Dnsmasq | undefined;
  const closers: Array<() => void> = [];
  before(async () => {
    const records = [
      '--local=/flowprobe.test/', '--host-record=api.flowprobe.test,127.0.0.5', '--host-record=v6.flowprobe.test,::5', '--cname=www.flowprobe.test,api.flowprobe.test',
      '--mx-host=flowprobe.test,mail.flowprobe.test,10', '--srv-host=_events._tcp.flowprobe.test,api.flowprobe.test,8443,5,20',
      '--txt-record=flowprobe.test,v=spf1 -all', `--txt-record=big.flowprobe.test,${BIG_TXT.join(',')}`, '--caa-record=flowprobe.test,0,issue,letsencrypt.org',
    ];
    plain = await startDnsmasq(records);
    zone = await startDnsmasq([...records, '--auth-zone=flowprobe.test', '--auth-server=ns.flowprobe.test,127.0.0.1']);
  });
  after(async () => {
    for (const close of closers) close();
    await plain?.stop();
    await zone?.stop();
  });

  it('answers each record type as dig +short prints it, timed, over UDP, with TTLs', async (t) => {
    if (!plain) return t.skip('dnsmasq missing');
    const servers = [plain.server];
    const [a, aaaa, cname, mx, srv, txt, caa] = await Promise.all([
      run({ query: 'api.flowprobe.test', servers, expect: { answers: { exact: ['127.0.0.5'] }, minTtl: '1m' } }),
      run({ query: 'v6.flowprobe.test', type: 'AAAA', servers, expect: { answers: { matches: '^::5$' } } }),
      run({ query: 'WWW.flowprobe.test.', servers, expect: { answers: { contains: ['127.0.0.5'] } } }),
      run({ query: 'flowprobe.test', type: 'MX', servers, expect: { answers: { exact: ['10 mail.flowprobe.test'] } } }),
      run({ query: '_events._tcp.flowprobe.test', type: 'SRV', servers, expect: { answers: { exact: ['5 20 8443 api.flowprobe.test'] } } }),
      run({ query: 'flowprobe.test', type: 'TXT', servers, expect: { answers: { exact: ['v=spf1 -all'] } } }),
      run({ query: 'flowprobe.test', type: 'CAA', servers, expect: { answers: { exact: ['0 issue "letsencrypt.org"'] } } }),
    ]);
    assert.deepEqual([a, aaaa, cname, mx, srv, txt, caa].map(headline), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    const answer = detailOf(a).servers[0];
    assert.equal(answer?.transport, 'udp');
    assert.equal(answer?.minTtl, 300);
    assert.ok((a.phases.dns ?? 0) > 0, 'the answer time is the dns phase');
    // A CNAME chain: the records of the asked type, and the chain counted.
    assert.deepEqual(detailOf(cname).servers[0]?.records, ['127.0.0.5']);
    assert.equal(detailOf(cname).servers[0]?.answerCount, 2);
  });

  it('names a wrong answer with what came: rcode, records, TTL, authority, each against what was expected', async (t) => {
    if (!plain || !zone) return t.skip('dnsmasq missing');
    const servers = [plain.server];
    const [nx, nxExpected, wrong, missing, ttl, unwanted, authoritative, refused] = await Promise.all([
      run({ query: 'nope.flowprobe.test', servers }),
      run({ query: 'nope.flowprobe.test', servers, expect: { rcode: 'NXDOMAIN' } }),
      run({ query: 'api.flowprobe.test', servers, expect: { answers: { exact: ['127.0.0.6'] } } }),
      run({ query: 'api.flowprobe.test', servers, expect: { answers: { contains: ['127.0.0.5', '127.0.0.7'] } } }),
      run({ query: 'api.flowprobe.test', servers, expect: { minTtl: '10m' } }),
      run({ query: 'api.flowprobe.test', servers, expect: { authoritative: false } }),
      run({ query: 'api.flowprobe.test', servers: [zone.server], recursion: false, expect: { authoritative: true } }),
      run({ query: 'example.com', servers }),
    ]);
    assert.equal(headline(nx), `dns: nope.flowprobe.test A: NXDOMAIN from ${plain.server}, expected NOERROR`);
    assert.equal(headline(nxExpected), 'ok');
    assert.equal(headline(wrong), `assertion: api.flowprobe.test A from ${plain.server}: 127.0.0.5, expected exactly 127.0.0.6`);
    assert.equal(headline(missing), `assertion: api.flowprobe.test A from ${plain.server}: 127.0.0.5; missing 127.0.0.7`);
    assert.equal(headline(ttl), `assertion: api.flowprobe.test A from ${plain.server}: TTL 5m, expected at least 10m`);
    assert.equal(headline(unwanted), `assertion: api.flowprobe.test A from ${plain.server}: the answer is authoritative (AA flag set), expected not authoritative`);
    assert.equal(headline(authoritative), 'ok');
    assert.equal(headline(refused), `dns: example.com A: REFUSED from ${plain.server}, expected NOERROR`);
  });

  it('asks over TCP when the UDP answer comes truncated, or over TCP only', async (t) => {
    if (!plain) return t.skip('dnsmasq missing');
    const [big, tcpOnly] = await Promise.all([
      run({ query: 'big.flowprobe.test', type: 'TXT', servers: [plain.server], expect: { answers: { exact: [BIG_TXT.join('')] } } }),
      run({ query: 'api.flowprobe.test', servers: [plain.server], transport: 'tcp' }),
    ]);
    assert.equal(headline(big), 'ok');
    assert.equal(detailOf(big).servers[0]?.transport, 'tcp');
    assert.equal(headline(tcpOnly), 'ok');
    assert.equal(detailOf(tcpOnly).servers[0]?.transport, 'tcp');
  });

  it('of several servers, names the one that did not answer, and how the others did', async (t) => {
    if (!plain || !zone) return t.skip('dnsmasq missing');
    const silent = await udpServer(() => undefined);
    closers.push(silent.close);
    const started = Date.now();
    const r = await run({ query: 'api.flowprobe.test', servers: [plain.server, silent.server, zone.server] }, 1_500);
    assert.equal(r.ok, false);
    assert.ok(Date.now() - started < 2_500, 'within its deadline');
    assert.equal(r.ok ? '' : r.failure.code, 'timeout');
    const message = r.ok ? '' : r.failure.message;
    assert.match(message, new RegExp(`^no answer from ${silent.server} over UDP: the run's deadline of 1\\.5s passed \\([12] queries sent\\); ${plain.server} NOERROR in [0-9.]+(?:µs|ms|s), ${zone.server} NOERROR in [0-9.]+(?:µs|ms|s)$`));
    assert.deepEqual(detailOf(r).servers.map((s) => s.records), [['127.0.0.5'], [], ['127.0.0.5']]);
  });
});

describe('dns kind against broken servers', () => {
  it('names a closed port and a garbled answer; never throws', async () => {
    const closed = await udpServer(() => undefined);
    const closedServer = closed.server;
    closed.close();
    // Echoes the query's id with the response bit set, then bytes that are not a DNS message.
    const garbled = await udpServer((q) => Buffer.concat([q.subarray(0, 2), Buffer.from([0x81, 0x80, 0, 1, 0, 1]), Buffer.from('not dns')]));
    try {
      const [refused, malformed] = await Promise.all([run({ query: 'api.flowprobe.test', servers: [closedServer] }), run({ query: 'api.flowprobe.test', servers: [garbled.server] })]);
      assert.equal(headline(refused), `connect: refused: nothing answers DNS on udp ${closedServer} (port unreachable)`);
      assert.match(headline(malformed), new RegExp(`^protocol: malformed answer from ${garbled.server} \\(15 B\\): `));
    } finally {
      garbled.close();
    }
  });

  it('refuses at load what it could not ask: a server by name, a bad name, an unknown type', () => {
    const problems = (fields: Record<string, unknown>) => {
      const parsed = probeSchema.safeParse({ name: 'd', kind: 'dns', query: 'api.example.com', ...fields });
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(problems({ servers: ['10.0.0.2', '[::1]:5353', '127.0.0.1:53'] }), []);
    assert.match(problems({ servers: ['dns.google:53'] }).join(), /servers\.0: expected an IP address with an optional port .*found "dns\.google:53"/);
    assert.match(problems({ query: 'bad..name' }).join(), /query: expected a domain name/);
    assert.match(problems({ type: 'ANY' }).join(), /type: expected a record type: A, AAAA, CNAME, MX, TXT, SRV, NS, CAA/);
  });
});
