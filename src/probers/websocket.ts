// WebSocket prober (ws): handshake with auth and subprotocols, a scripted exchange that waits
// for *matching* messages, RTT samples, a sequence-numbered burst for ordering and loss, a held
// connection with keepalive pings (a half-open socket is caught), and N connections at once.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { WebSocketProbeSpec, WsAuth, WsStep } from '../config/schema.js';
import type { TlsSettings } from '../config/fields.js';
import { formatDuration } from '../config/units.js';
import { check, checkMaxDuration } from './checks.js';
import { classifyCause, classifyError } from './classify-error.js';
import { delay, describeMatcher, Inbox, isFailure, matches, parseJson, render } from './messages.js';
import { eachConnection } from './connections.js';
import { spread } from './stats.js';
import type { CheckResult, Failure, FailureCode, Phases, ProbeContext, ProberOutcome, WebSocketDetail } from './types.js';

const INBOX_LIMIT = 10_000;
const AUTH_CLOSE_CODES = new Set([1008, 4001, 4003]);

interface ConnReport {
  failure: Failure | undefined;
  phases: Phases;
  handshakeMs: number | undefined;
  rttMs: number[];
  sent: number;
  received: number;
  outOfOrder: number;
  missing: number;
  duplicate: number;
  subprotocol: string | undefined;
  closeCode: number | undefined;
  checks: CheckResult[];
}

export async function probeWebSocket(spec: WebSocketProbeSpec, ctx: ProbeContext): Promise<ProberOutcome> {
  const auth = await authFor(spec);
  const reports = await eachConnection(spec.connections, ctx.signal, (_, signal) => runConnection(spec, { ...ctx, signal }, auth));
  const first = reports[0] as ConnReport;
  const detail = describe(reports);
  const checks = [...first.checks, ...aggregateChecks(spec, detail)];
  return { failure: failureOf(spec, reports, checks), phases: first.phases, checks, detail };
}

export interface Auth {
  url: string;
  headers: Record<string, string>;
  protocols: string[];
}

interface AuthTarget {
  url: string;
  headers: Record<string, string>;
  subprotocols?: string[] | undefined;
  auth?: WsAuth | undefined;
}

/** URL, headers and subprotocols for this run, with a token or a freshly minted JWT. */
export async function authFor(target: AuthTarget): Promise<Auth> {
  const url = new URL(target.url);
  const headers = { ...target.headers };
  const protocols = [...(target.subprotocols ?? [])];
  if (!target.auth) return { url: url.toString(), headers, protocols };
  const { token, place, name } =
    'jwt' in target.auth
      ? { token: await mintJwt(target.auth.jwt), place: target.auth.jwt.in, name: target.auth.jwt.name }
      : { token: target.auth.token, place: target.auth.in, name: target.auth.name };
  if (place === 'query') url.searchParams.set(name ?? 'token', token);
  else if (place === 'subprotocol') protocols.push(token);
  else headers[name ?? 'authorization'] = name ? token : `Bearer ${token}`;
  return { url: url.toString(), headers, protocols };
}

type JwtOptions = Extract<WsAuth, { jwt: unknown }>['jwt'];

async function mintJwt(options: JwtOptions): Promise<string> {
  const { key } = options;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(options.claims as Record<string, unknown>)
    .setProtectedHeader({ alg: options.algorithm })
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.round(options.expiresIn / 1000)))
    .sign(key);
}

/** One connection, start to finish: never throws, always closes its socket. */
async function runConnection(spec: WebSocketProbeSpec, ctx: ProbeContext, auth: Auth): Promise<ConnReport> {
  const report: ConnReport = {
    failure: undefined, phases: {}, handshakeMs: undefined, rttMs: [], sent: 0, received: 0,
    outOfOrder: 0, missing: 0, duplicate: 0, subprotocol: undefined, closeCode: undefined, checks: [],
  };
  const opened = await open(spec, ctx, auth, report);
  if ('failure' in opened) return { ...report, failure: opened.failure };
  const conn = opened.conn;
  try {
    report.failure = (await script(spec, ctx, conn, report)) ?? (await measureRtt(spec, ctx, conn, report)) ?? (await burst(spec, ctx, conn, report)) ?? (await hold(spec, ctx, conn));
  } finally {
    report.sent = conn.sent;
    report.received = conn.received;
    report.closeCode = conn.closed?.code;
    await conn.shutdown();
  }
  return report;
}

/** Opens the probe's socket and checks the subprotocol it got. */
async function open(spec: WebSocketProbeSpec, ctx: ProbeContext, auth: Auth, report: ConnReport): Promise<{ conn: Connection } | { failure: Failure }> {
  const opened = await connectWebSocket({ ...auth, tls: spec.tls, maxPayload: spec.maxPayload }, ctx.signal, report.phases);
  if ('failure' in opened) return opened;
  report.handshakeMs = opened.handshakeMs;
  report.subprotocol = opened.conn.ws.protocol || undefined;
  if (spec.expect.subprotocol !== undefined && opened.conn.ws.protocol !== spec.expect.subprotocol) {
    opened.conn.ws.terminate();
    return { failure: { code: 'handshake', message: `subprotocol: expected ${JSON.stringify(spec.expect.subprotocol)}, server chose ${JSON.stringify(opened.conn.ws.protocol || '(none)')}` } };
  }
  return { conn: opened.conn };
}

export interface SocketTarget extends Auth {
  /** With the CA's bytes, read once at load. */
  tls: TlsSettings;
  maxPayload: number;
}

/** Opens a socket, timing dns/connect/tls/upgrade into `phases`; a refusal is classified, not thrown. */
export async function connectWebSocket(target: SocketTarget, signal: AbortSignal, phases: Phases): Promise<{ conn: Connection; handshakeMs: number } | { failure: Failure }> {
  const started = performance.now();
  const { ca } = target.tls;
  let connectedAt: number | undefined;
  const secure = target.url.startsWith('wss:');
  const ws = new WebSocket(target.url, target.protocols, {
    headers: target.headers,
    maxPayload: target.maxPayload,
    perMessageDeflate: false,
    ca,
    rejectUnauthorized: !target.tls.insecureSkipVerify,
    ...(target.tls.serverName ? { servername: target.tls.serverName } : {}),
    createConnection: ((options: tls.ConnectionOptions & net.NetConnectOpts & { host: string }) => {
      const socket = secure ? tls.connect({ ...options, servername: options.servername || (net.isIP(options.host) ? undefined : options.host) }) : net.connect(options);
      socket.once('lookup', () => (phases.dns = performance.now() - started));
      socket.once('connect', () => {
        connectedAt = performance.now();
        phases.connect = connectedAt - started - (phases.dns ?? 0);
      });
      if (secure) socket.once('secureConnect', () => (phases.tls = performance.now() - (connectedAt ?? started)));
      return socket;
    }) as unknown as WebSocket.ClientOptions['createConnection'],
  });
  // Listening from the start: a server may send (or break) before our `open` handler runs.
  const conn = new Connection(ws);
  const outcome = await new Promise<Failure | undefined>((resolve) => {
    const onAbort = () => resolve(classifyError(signal.reason, signal, 'connect'));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (failure: Failure | undefined) => {
      signal.removeEventListener('abort', onAbort);
      resolve(failure);
    };
    ws.once('open', () => settle(undefined));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      settle(
        status === 401 || status === 403
          ? { code: 'auth', message: `upgrade refused with ${status}` }
          : { code: 'handshake', message: `expected 101 Switching Protocols, got ${status}` },
      );
    });
    ws.once('error', (error) => settle(classifyOpenError(error, signal, connectedAt !== undefined)));
  });
  if (outcome) {
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    ws.terminate();
    return { failure: outcome };
  }
  phases.first_byte = performance.now() - (connectedAt ?? started) - (phases.tls ?? 0);
  return { conn, handshakeMs: performance.now() - started };
}

/** Errors before `open`: network errors keep their class; the rest broke the handshake. */
function classifyOpenError(error: Error, signal: AbortSignal, connected: boolean): Failure {
  const classified = classifyError(error, signal, connected ? 'exchange' : 'connect');
  if (classified.code !== 'internal') return classified;
  return { code: 'handshake', message: error.message };
}

/** The socket, with what it received in an Inbox. */
export class Connection {
  readonly inbox = new Inbox(INBOX_LIMIT);
  sent = 0;
  closed: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.inbox.push(data.toString()));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.inbox.fail(closeFailure(code, reason.toString()));
    });
    ws.on('error', (error) => {
      const classified = classifyCause(error, 'exchange');
      this.inbox.fail(classified.code === 'internal' ? { code: 'protocol', message: error.message } : classified);
    });
  }

  get received(): number {
    return this.inbox.received;
  }

  send(text: string): void {
    this.sent++;
    this.ws.send(text);
  }

  /** Sends a ping and waits for its pong: RTT in ms, or a failure (a half-open socket times out). */
  async ping(withinMs: number, signal: AbortSignal): Promise<number | Failure> {
    const sentAt = performance.now();
    let ponged = false;
    const onPong = () => {
      ponged = true;
      this.inbox.poke();
    };
    this.ws.once('pong', onPong);
    this.ws.ping();
    try {
      while (!ponged) {
        const gone = this.inbox.failure(signal);
        if (gone) return gone;
        const left = sentAt + withinMs - performance.now();
        if (left <= 0) return { code: 'timeout', message: `no pong within ${formatDuration(withinMs)}: the connection is half-open or the server stopped answering` };
        await this.inbox.nextEvent(left, signal);
      }
      return performance.now() - sentAt;
    } finally {
      this.ws.off('pong', onPong);
    }
  }

  /** Closes politely (bounded), then makes sure the socket is gone. */
  async shutdown(): Promise<void> {
    const ws = this.ws;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    ws.terminate();
  }
}

function closeFailure(code: number, reason: string): Failure {
  const why = reason ? ` (${reason})` : '';
  if (AUTH_CLOSE_CODES.has(code)) return { code: 'auth', message: `server closed with ${code}${why}: credentials rejected or expired` };
  if (code === 1006) return { code: 'closed', message: 'connection dropped without a close frame (1006)' };
  if (code === 1009) return { code: 'protocol', message: `message too big (1009)${why}` };
  return { code: 'closed', message: `server closed with ${code}${why}` };
}

async function script(spec: WebSocketProbeSpec, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
  for (const [index, step] of spec.steps.entries()) {
    const failure = await runStep(step, index, ctx, conn, report);
    if (failure) return failure;
  }
  return undefined;
}

async function runStep(step: WsStep, index: number, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
  const vars = { runId: ctx.runId, seq: index + 1 };
  const label = `step ${index + 1}`;
  if ('send' in step) {
    const gone = conn.inbox.failure(ctx.signal);
    if (gone) return gone;
    conn.send(render(step.send, vars));
    return undefined;
  }
  if ('expect' in step) {
    const started = performance.now();
    const got = await conn.inbox.until((m) => matches(m, step.expect, vars), step.expect.within, ctx.signal, `${label} expect`);
    const failure = isFailure(got) ? got : undefined;
    report.checks.push(check(`${label} expect`, failure === undefined, describeMatcher(step.expect), failure ? failure.message : `matched in ${formatDuration(performance.now() - started)}`));
    return failure && failure.code === 'timeout' ? { code: 'assertion', message: failure.message } : failure;
  }
  if ('sleep' in step) {
    await delay(step.sleep, ctx.signal);
    return conn.inbox.failure(ctx.signal);
  }
  if ('close' in step) {
    conn.ws.close(step.close.code, step.close.reason);
    return undefined;
  }
  const expected = step.expectClose.code;
  await conn.inbox.until(() => false, step.expectClose.within, ctx.signal, `${label} expectClose`);
  const got = conn.closed?.code;
  report.checks.push(check(`${label} close code`, got !== undefined && expected.includes(got), expected.join(' or '), got === undefined ? 'still open' : String(got)));
  return got !== undefined && expected.includes(got) ? undefined : { code: got === undefined ? 'timeout' : 'assertion', message: `${label}: expected close ${expected.join(' or ')}, observed ${got ?? 'still open'}` };
}

async function measureRtt(spec: WebSocketProbeSpec, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
  const rtt = spec.rtt;
  if (!rtt || conn.closed) return undefined;
  for (let seq = 1; seq <= rtt.samples; seq++) {
    if (seq > 1 && rtt.every > 0) await delay(rtt.every, ctx.signal);
    if (rtt.send === undefined) {
      const sample = await conn.ping(rtt.within, ctx.signal);
      if (typeof sample !== 'number') return sample;
      report.rttMs.push(sample);
      continue;
    }
    const vars = { runId: ctx.runId, seq };
    const sentAt = performance.now();
    conn.send(render(rtt.send, vars));
    const got = await conn.inbox.until((m) => rtt.match === undefined || matches(m, rtt.match, vars), rtt.within, ctx.signal, `rtt sample ${seq}`);
    if (isFailure(got)) return got;
    report.rttMs.push(got.at - sentAt);
  }
  return undefined;
}

/** Sends `count` numbered messages at once and reads the echoes: order, loss, duplicates. */
async function burst(spec: WebSocketProbeSpec, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
  const b = spec.burst;
  if (!b || conn.closed) return undefined;
  for (let seq = 1; seq <= b.count; seq++) conn.send(render(b.send, { runId: ctx.runId, seq }));
  const seen = new Set<number>();
  let highest = 0;
  const got = await conn.inbox.until(
    (message) => {
      const seq = Number(b.seqPath.select(parseJson(message))[0]);
      if (!Number.isInteger(seq) || seq < 1 || seq > b.count) return false;
      if (seen.has(seq)) report.duplicate++;
      else if (seq < highest) report.outOfOrder++;
      seen.add(seq);
      highest = Math.max(highest, seq);
      return seen.size === b.count;
    },
    b.within,
    ctx.signal,
    'burst',
  );
  report.missing = b.count - seen.size;
  // Losing messages is a figure to check, not a broken connection.
  return isFailure(got) && got.code !== 'timeout' ? got : undefined;
}

/** Holds the connection, pinging: a socket that stops answering is detected within the window. */
async function hold(spec: WebSocketProbeSpec, ctx: ProbeContext, conn: Connection): Promise<Failure | undefined> {
  const until = performance.now() + spec.hold;
  while (performance.now() < until) {
    const sample = await conn.ping(spec.keepalive.timeout, ctx.signal);
    if (typeof sample !== 'number') return sample;
    const wait = Math.min(spec.keepalive.every, until - performance.now());
    if (wait > 0) await delay(wait, ctx.signal);
    const gone = conn.inbox.failure(ctx.signal);
    if (gone) return gone;
  }
  return undefined;
}

function describe(reports: ConnReport[]): WebSocketDetail {
  const failures: Partial<Record<FailureCode, number>> = {};
  for (const r of reports) if (r.failure) failures[r.failure.code] = (failures[r.failure.code] ?? 0) + 1;
  const rtt = reports.flatMap((r) => r.rttMs);
  const sum = (f: (r: ConnReport) => number) => reports.reduce((acc, r) => acc + f(r), 0);
  return {
    kind: 'websocket',
    connections: reports.length,
    connectionsOk: reports.filter((r) => !r.failure).length,
    failures,
    handshakeMs: spread(reports.flatMap((r) => (r.handshakeMs === undefined ? [] : [r.handshakeMs]))),
    rttMs: spread(rtt),
    rttSamplesMs: rtt,
    sent: sum((r) => r.sent),
    received: sum((r) => r.received),
    outOfOrder: sum((r) => r.outOfOrder),
    missing: sum((r) => r.missing),
    duplicate: sum((r) => r.duplicate),
    subprotocol: reports[0]?.subprotocol,
    closeCode: reports[0]?.closeCode,
  };
}

function aggregateChecks(spec: WebSocketProbeSpec, detail: WebSocketDetail): CheckResult[] {
  const { expect } = spec;
  const checks: CheckResult[] = [];
  if (expect.maxHandshake !== undefined && detail.handshakeMs) checks.push(checkMaxDuration('handshake p95', detail.handshakeMs.p95, expect.maxHandshake));
  if (expect.rttP95 !== undefined && detail.rttMs) checks.push(checkMaxDuration('rtt p95', detail.rttMs.p95, expect.rttP95));
  if (spec.burst) {
    checks.push(check('out of order', detail.outOfOrder <= expect.maxOutOfOrder, `<= ${expect.maxOutOfOrder}`, String(detail.outOfOrder)));
    checks.push(check('missing', detail.missing <= expect.maxMissing, `<= ${expect.maxMissing}`, String(detail.missing)));
    checks.push(check('duplicate', detail.duplicate <= expect.maxDuplicate, `<= ${expect.maxDuplicate}`, String(detail.duplicate)));
  }
  if (spec.connections > 1) {
    const failed = detail.connections - detail.connectionsOk;
    checks.push(check('failed connections', failed <= expect.maxFailedConnections, `<= ${expect.maxFailedConnections}`, `${failed} of ${detail.connections}`));
  }
  return checks;
}

/** One connection: its own failure. Several: tolerated up to maxFailedConnections. Then checks. */
function failureOf(spec: WebSocketProbeSpec, reports: ConnReport[], checks: CheckResult[]): Failure | undefined {
  const failedReports = reports.filter((r) => r.failure);
  const firstFailure = failedReports[0]?.failure;
  if (firstFailure && (spec.connections === 1 || failedReports.length > spec.expect.maxFailedConnections)) {
    return spec.connections === 1 ? firstFailure : { code: firstFailure.code, message: `${failedReports.length} of ${reports.length} connections failed; first: ${firstFailure.message}` };
  }
  const failed = checks.filter((c) => !c.ok);
  const first = failed[0];
  if (!first) return undefined;
  const more = failed.length > 1 ? ` (+${failed.length - 1} more failed check${failed.length > 2 ? 's' : ''})` : '';
  return { code: 'assertion', message: `${first.name}: expected ${first.expected}, observed ${first.observed}${more}` };
}

