// dns prober: the run's one question asked of every server at once, each over UDP (sent again
// every second until the deadline, as a resolver does when a datagram is lost) and over TCP when
// the answer comes truncated, or over TCP only. Each server's answer is checked on its own, so a
// headline names the server that failed: "no answer from 10.0.0.3:53 …; 10.0.0.2:53 answered".
import dgram from 'node:dgram';
import { getServers } from 'node:dns';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as dnsPacket from 'dns-packet';
import { DEFAULT_TLS } from '../../config/fields.js';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import { abortFailure, classifyError } from '../classify-error.js';
import { causeOf, openTimedSocket, stageOf, type Timeline } from '../connect.js';
import type { CheckResult, ProbeContext, ProberOutcome } from '../types.js';
import type { DnsDetail, ServerAnswer } from './kind.js';
import { parseServer, type DnsServer } from './schema.js';

/** A datagram not answered within this is sent again (dig's and glibc's retry, shortened). */
const RESEND_MS = 1_000;
/** The most of an answer read over TCP (a DNS message is at most 64 KiB). */
const MAX_MESSAGE = 65_535;
const RECORDS_KEPT = 32;

type Answer = { packet: dnsPacket.DecodedPacket; transport: 'udp' | 'tcp' };
type Asked = { answer: Answer; responseMs: number; queries: number } | { error: string; code: 'timeout' | 'connect' | 'protocol' | 'inconclusive' | 'closed'; queries: number };

export async function probeDns(spec: ProbeSpec<'dns'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const servers = spec.servers ?? systemServers();
  const detail: DnsDetail = { kind: 'dns', question: `${spec.query} ${spec.type}`, servers: [] };
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  if (servers.length === 0) return { failure: { code: 'dns', message: 'no DNS server to ask: the system has none configured (resolv.conf) and the probe names none' }, phases: {}, checks: [], detail };
  const asked = await Promise.all(servers.map((server) => ask(server, spec, ctx.signal)));
  servers.forEach((server, i) => {
    const result = asked[i] as Asked;
    detail.servers.push('answer' in result ? summarize(server, result, spec.type) : { server: server.label, responseMs: undefined, rcode: undefined, records: [], answerCount: 0, minTtl: undefined, authoritative: undefined, transport: undefined, queries: result.queries, error: result.error });
  });
  const checks = servers.flatMap((server, i) => checksFor(spec, server, asked[i] as Asked, detail.servers[i] as ServerAnswer, servers.length > 1 ? detail.servers : undefined));
  const answered = detail.servers.map((s) => s.responseMs).filter((ms): ms is number => ms !== undefined);
  if (answered.length) timeline.phases.dns = Math.max(...answered);
  return { failure: failureFromChecks(checks), phases: timeline.phases, checks, detail };
}

/** The servers resolv.conf names, read every run (a changed resolv.conf is followed). */
function systemServers(): DnsServer[] {
  return getServers().map(parseServer).filter((s): s is DnsServer => s !== undefined);
}

async function ask(server: DnsServer, spec: ProbeSpec<'dns'>, signal: AbortSignal): Promise<Asked> {
  const id = Math.floor(Math.random() * 65_536);
  const query: dnsPacket.Packet = { type: 'query', id, flags: spec.recursion ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type: spec.type, name: spec.query, class: 'IN' }] };
  const started = performance.now();
  if (spec.transport === 'tcp') return viaTcp(server, query, id, signal, started, 0);
  const udp = await viaUdp(server, dnsPacket.encode(query), id, signal);
  if ('error' in udp) return udp;
  // Truncated: the whole answer is only to be had over TCP (RFC 7766).
  if (udp.packet.flag_tc) return viaTcp(server, query, id, signal, started, udp.queries);
  return { answer: { packet: udp.packet, transport: 'udp' }, responseMs: performance.now() - started, queries: udp.queries };
}

function viaUdp(server: DnsServer, message: Buffer, id: number, signal: AbortSignal): Promise<{ packet: dnsPacket.DecodedPacket; queries: number } | Extract<Asked, { error: string }>> {
  return new Promise((resolve) => {
    // Connected: the kernel hands over datagrams from this server only, and reports a refusal
    // (ICMP port unreachable) as ECONNREFUSED.
    const socket = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let queries = 0;
    let resend: NodeJS.Timeout | undefined;
    const finish = (result: Parameters<typeof resolve>[0]) => {
      clearInterval(resend);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('message');
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(result);
    };
    const onAbort = () => {
      const failure = abortFailure(signal);
      finish(failure.code === 'timeout' ? { error: `no answer from ${server.label} over UDP: ${failure.message} (${queries} ${queries === 1 ? 'query' : 'queries'} sent)`, code: 'timeout', queries } : { error: failure.message, code: 'inconclusive', queries });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const send = () => {
      queries += 1;
      socket.send(message, (error) => error && finish({ error: `could not send to ${server.label}: ${error.message}`, code: 'connect', queries }));
    };
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNREFUSED' ? { error: `refused: nothing answers DNS on udp ${server.label} (port unreachable)`, code: 'connect', queries } : { error: `udp ${server.label}: ${error.message}`, code: 'connect', queries }),
    );
    socket.on('message', (data: Buffer) => {
      let packet: dnsPacket.DecodedPacket;
      try {
        packet = dnsPacket.decode(data);
      } catch (error) {
        return finish({ error: `malformed answer from ${server.label} (${data.length} B): ${(error as Error).message}`, code: 'protocol', queries });
      }
      if (packet.id !== id || packet.type !== 'response') return; // not ours: a late answer to another query
      finish({ packet, queries });
    });
    socket.connect(server.port, server.address, () => {
      send();
      resend = setInterval(send, RESEND_MS);
    });
  });
}

async function viaTcp(server: DnsServer, query: dnsPacket.Packet, id: number, signal: AbortSignal, started: number, queries: number): Promise<Asked> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  let socket: Socket;
  try {
    socket = await openTimedSocket({ hostname: server.address, port: server.port, secure: false }, DEFAULT_TLS, timeline, signal, server.family);
  } catch (error) {
    const failure = classifyError(causeOf(error, timeline), signal, stageOf(timeline));
    return { error: `tcp ${server.label}: ${failure.message}`, code: failure.code === 'timeout' ? 'timeout' : failure.code === 'inconclusive' ? 'inconclusive' : 'connect', queries: queries + 1 };
  }
  try {
    socket.write(dnsPacket.streamEncode(query));
    const data = await readMessage(socket, signal);
    if (typeof data === 'string') return { error: `tcp ${server.label}: ${data}`, code: signal.aborted ? abortFailure(signal).code as 'timeout' : 'closed', queries: queries + 1 };
    let packet: dnsPacket.DecodedPacket;
    try {
      packet = dnsPacket.decode(data);
    } catch (error) {
      return { error: `malformed answer from ${server.label} over TCP (${data.length} B): ${(error as Error).message}`, code: 'protocol', queries: queries + 1 };
    }
    if (packet.id !== id) return { error: `answer from ${server.label} over TCP carries id ${packet.id}, not the query's ${id}`, code: 'protocol', queries: queries + 1 };
    return { answer: { packet, transport: 'tcp' }, responseMs: performance.now() - started, queries: queries + 1 };
  } finally {
    socket.destroy();
  }
}

/** One length-prefixed message (RFC 1035 §4.2.2), or why none came. */
function readMessage(socket: Socket, signal: AbortSignal): Promise<Buffer | string> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (result: Buffer | string) => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('data');
      resolve(result);
    };
    const onAbort = () => finish(`no answer: ${abortFailure(signal).message}`);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]).subarray(0, MAX_MESSAGE + 2);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length >= length + 2) finish(buffered.subarray(2, length + 2));
    });
    socket.once('close', () => finish(`the server closed the connection after ${buffered.length} B, before a whole answer`));
  });
}

function summarize(server: DnsServer, asked: Extract<Asked, { answer: Answer }>, type: string): ServerAnswer {
  const { packet, transport } = asked.answer;
  const answers = packet.answers ?? [];
  const ofType = answers.filter((a) => a.type === type);
  const ttls = ofType.map((a) => (a as { ttl?: number }).ttl).filter((t): t is number => t !== undefined);
  return {
    server: server.label,
    responseMs: asked.responseMs,
    rcode: (packet as { rcode?: string }).rcode ?? 'NOERROR',
    records: ofType.slice(0, RECORDS_KEPT).map(format),
    answerCount: answers.length,
    minTtl: ttls.length ? Math.min(...ttls) : undefined,
    authoritative: packet.flag_aa,
    transport,
    queries: asked.queries,
    error: undefined,
  };
}

/** A record as `dig +short` prints it, names without their final dot. */
function format(answer: dnsPacket.Answer): string {
  const data = (answer as { data?: unknown }).data;
  const name = (n: unknown) => String(n).replace(/\.$/, '').toLowerCase();
  switch (answer.type) {
    case 'MX': {
      const mx = data as { preference?: number; exchange: string };
      return `${mx.preference ?? 0} ${name(mx.exchange)}`;
    }
    case 'SRV': {
      const srv = data as { priority?: number; weight?: number; port?: number; target: string };
      return `${srv.priority ?? 0} ${srv.weight ?? 0} ${srv.port ?? 0} ${name(srv.target)}`;
    }
    case 'CAA': {
      const caa = data as { flags?: number; tag: string; value: string };
      return `${caa.flags ?? 0} ${caa.tag} "${caa.value}"`;
    }
    case 'TXT': {
      // Long TXT data comes in strings of at most 255 bytes: one record, read joined.
      const parts = Array.isArray(data) ? data : [data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
    }
    case 'CNAME':
    case 'NS':
      return name(data);
    default:
      return String(data);
  }
}

/** A server's answer against the probe's expectations; with several servers every check's name
 * and headline say which server it was about, and a failed one lists how the others did. */
function checksFor(spec: ProbeSpec<'dns'>, server: DnsServer, asked: Asked, answer: ServerAnswer, all: ServerAnswer[] | undefined): CheckResult[] {
  const at = all ? ` @ ${server.label}` : '';
  const others = () => {
    const rest = (all ?? []).filter((s) => s.server !== server.label);
    return rest.length ? `; ${rest.map((s) => (s.responseMs === undefined ? `${s.server} no answer` : `${s.server} ${s.rcode} in ${formatDuration(s.responseMs)}`)).join(', ')}` : '';
  };
  const question = `${spec.query} ${spec.type}`;
  if ('error' in asked) return [{ ...check(`answer${at}`, false, 'an answer', 'none'), code: asked.code === 'closed' ? 'closed' : asked.code, headline: `${asked.error}${others()}` }];
  const { expect } = spec;
  const checks: CheckResult[] = [];
  const named = (c: CheckResult, headline: string, code?: CheckResult['code']): CheckResult => (c.ok ? c : { ...c, headline: `${headline}${others()}`, ...(code ? { code } : {}) });
  const records = answer.records;
  const shown = records.length ? records.join(', ') : 'no records';
  checks.push(named(check(`rcode${at}`, answer.rcode === expect.rcode, expect.rcode, answer.rcode ?? '-'), `${question}: ${answer.rcode} from ${server.label}, expected ${expect.rcode}`, 'dns'));
  const minAnswers = expect.minAnswers ?? (expect.rcode === 'NOERROR' ? 1 : 0);
  if (minAnswers > 0 && answer.rcode === expect.rcode) {
    checks.push(named(check(`records${at}`, records.length >= minAnswers, `>= ${minAnswers} ${spec.type}`, String(records.length)), `${question}: ${records.length} ${spec.type} record(s) from ${server.label}${answer.answerCount > records.length ? ` (${answer.answerCount - records.length} of other types)` : ''}, expected at least ${minAnswers}`, 'dns'));
  }
  const wanted = expect.answers;
  if (wanted?.exact) {
    const missing = wanted.exact.filter((r) => !records.includes(r));
    const extra = records.filter((r) => !wanted.exact?.includes(r));
    const ok = missing.length === 0 && extra.length === 0;
    checks.push(named(check(`answers${at}`, ok, `exactly ${wanted.exact.join(', ')}`, shown), `${question} from ${server.label}: ${shown}, expected exactly ${wanted.exact.join(', ')}`));
  }
  if (wanted?.contains) {
    const missing = wanted.contains.filter((r) => !records.includes(r));
    checks.push(named(check(`answers contain${at}`, missing.length === 0, `contains ${wanted.contains.join(', ')}`, shown), `${question} from ${server.label}: ${shown}; missing ${missing.join(', ')}`));
  }
  if (wanted?.matches) {
    const pattern = wanted.matches;
    const bad = records.find((r) => !pattern.test(r));
    const ok = records.length > 0 && bad === undefined;
    checks.push(named(check(`answers match${at}`, ok, `every record matches /${pattern.source}/`, bad ?? (records.length ? 'all matched' : 'no records')), `${question} from ${server.label}: ${bad === undefined ? 'no records' : `record ${bad}`}, expected every record to match /${pattern.source}/`));
  }
  if (expect.minTtl !== undefined && answer.minTtl !== undefined) {
    const ttlMs = answer.minTtl * 1000;
    checks.push(named(check(`ttl${at}`, ttlMs >= expect.minTtl, `>= ${formatDuration(expect.minTtl)}`, formatDuration(ttlMs)), `${question} from ${server.label}: TTL ${formatDuration(ttlMs)}, expected at least ${formatDuration(expect.minTtl)}`));
  }
  if (expect.authoritative !== undefined) {
    const ok = answer.authoritative === expect.authoritative;
    checks.push(named(check(`authoritative${at}`, ok, expect.authoritative ? 'AA set' : 'AA unset', answer.authoritative ? 'AA set' : 'AA unset'), `${question} from ${server.label}: the answer is ${answer.authoritative ? '' : 'not '}authoritative (AA flag ${answer.authoritative ? 'set' : 'unset'}), expected ${expect.authoritative ? '' : 'not '}authoritative`));
  }
  const response = checkLimit(`response${at}`, asked.responseMs, { fail: expect.maxResponse, degrade: spec.degradeWhen.maxResponse }, 'duration');
  checks.push(...limitChecks([response && !response.ok ? named(response, `${question}: answer from ${server.label} after ${formatDuration(asked.responseMs)}, over ${formatDuration(expect.maxResponse ?? 0)}`) : response]));
  return checks;
}
