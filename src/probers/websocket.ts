// WebSocket prober (ws): handshake with auth and subprotocols, a scripted exchange that waits
// for *matching* messages, RTT samples, a sequence-numbered burst for ordering and loss, a held
// connection with keepalive pings (a half-open socket is caught), and N connections at once.
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { importPKCS8, SignJWT } from 'jose';
import WebSocket from 'ws';
import type { MessageMatcher, MessageTemplate, WebSocketProbeSpec, WsStep } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { check, checkMaxDuration, selectJson } from './checks.js';
import { classifyError } from './classify-error.js';
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
  setMaxListeners(10 + spec.connections * 2, ctx.signal);
  const auth = await authFor(spec);
  const reports = await Promise.all(Array.from({ length: spec.connections }, () => runConnection(spec, ctx, auth)));
  const first = reports[0] as ConnReport;
  const detail = describe(reports);
  const checks = [...first.checks, ...aggregateChecks(spec, detail)];
  return { failure: failureOf(spec, reports, checks), phases: first.phases, checks, detail };
}

interface Auth {
  url: string;
  headers: Record<string, string>;
  protocols: string[];
}

/** URL, headers and subprotocols for this run, with a token or a freshly minted JWT. */
async function authFor(spec: WebSocketProbeSpec): Promise<Auth> {
  const url = new URL(spec.url);
  const headers = { ...spec.headers };
  const protocols = [...(spec.subprotocols ?? [])];
  if (!spec.auth) return { url: url.toString(), headers, protocols };
  const { token, place, name } =
    'jwt' in spec.auth
      ? { token: await mintJwt(spec.auth.jwt), place: spec.auth.jwt.in, name: spec.auth.jwt.name }
      : { token: spec.auth.token, place: spec.auth.in, name: spec.auth.name };
  if (place === 'query') url.searchParams.set(name ?? 'token', token);
  else if (place === 'subprotocol') protocols.push(token);
  else headers[name ?? 'authorization'] = name ? token : `Bearer ${token}`;
  return { url: url.toString(), headers, protocols };
}

type JwtOptions = Extract<NonNullable<WebSocketProbeSpec['auth']>, { jwt: unknown }>['jwt'];

async function mintJwt(options: JwtOptions): Promise<string> {
  const key = options.algorithm === 'HS256' ? new TextEncoder().encode(options.secret) : await importPKCS8(options.secret, 'RS256');
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

/** Opens the socket, timing dns/connect/tls/upgrade; a refusal is classified, not thrown. */
async function open(spec: WebSocketProbeSpec, ctx: ProbeContext, auth: Auth, report: ConnReport): Promise<{ conn: Connection } | { failure: Failure }> {
  const started = performance.now();
  const ca = spec.tls.ca === undefined ? undefined : readFileSync(spec.tls.ca);
  let connectedAt: number | undefined;
  const ws = new WebSocket(auth.url, auth.protocols, {
    headers: auth.headers,
    maxPayload: spec.maxPayload,
    perMessageDeflate: false,
    ca,
    rejectUnauthorized: !spec.tls.insecureSkipVerify,
    ...(spec.tls.serverName ? { servername: spec.tls.serverName } : {}),
    createConnection: ((options: tls.ConnectionOptions & net.NetConnectOpts & { host: string }) => {
      const secure = auth.url.startsWith('wss:');
      const socket = secure ? tls.connect({ ...options, servername: options.servername || (net.isIP(options.host) ? undefined : options.host) }) : net.connect(options);
      socket.once('lookup', () => (report.phases.dns = performance.now() - started));
      socket.once('connect', () => {
        connectedAt = performance.now();
        report.phases.connect = connectedAt - started - (report.phases.dns ?? 0);
      });
      if (secure) socket.once('secureConnect', () => (report.phases.tls = performance.now() - (connectedAt ?? started)));
      return socket;
    }) as unknown as WebSocket.ClientOptions['createConnection'],
  });
  // Listening from the start: a server may send (or break) before our `open` handler runs.
  const conn = new Connection(ws);
  const outcome = await new Promise<Failure | undefined>((resolve) => {
    const onAbort = () => resolve(classifyError(ctx.signal.reason, ctx.signal, 'connect'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const settle = (failure: Failure | undefined) => {
      ctx.signal.removeEventListener('abort', onAbort);
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
    ws.once('error', (error) => settle(classifyOpenError(error, ctx.signal, connectedAt !== undefined)));
  });
  if (outcome) {
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    ws.terminate();
    return { failure: outcome };
  }
  report.handshakeMs = performance.now() - started;
  report.phases.first_byte = performance.now() - (connectedAt ?? started) - (report.phases.tls ?? 0);
  report.subprotocol = ws.protocol || undefined;
  if (spec.expect.subprotocol !== undefined && ws.protocol !== spec.expect.subprotocol) {
    ws.terminate();
    return { failure: { code: 'handshake', message: `subprotocol: expected ${JSON.stringify(spec.expect.subprotocol)}, server chose ${JSON.stringify(ws.protocol || '(none)')}` } };
  }
  return { conn };
}

/** Errors before `open`: network errors keep their class; the rest broke the handshake. */
function classifyOpenError(error: Error, signal: AbortSignal, connected: boolean): Failure {
  const classified = classifyError(error, signal, connected ? 'exchange' : 'connect');
  if (classified.code !== 'internal') return classified;
  return { code: 'handshake', message: error.message };
}

/** The socket and what it received, read one matching message at a time. */
class Connection {
  private inbox: string[] = [];
  private wake: (() => void) | undefined;
  sent = 0;
  received = 0;
  closed: { code: number; reason: string } | undefined;
  error: Error | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received++;
      this.inbox.push(data.toString());
      if (this.inbox.length > INBOX_LIMIT) this.inbox.splice(0, this.inbox.length - INBOX_LIMIT);
      this.wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake?.();
    });
    ws.on('error', (error) => {
      this.error ??= error;
      this.wake?.();
    });
  }

  send(text: string): void {
    this.sent++;
    this.ws.send(text);
  }

  /** Consumes messages until one passes `test` (true ends the wait); unrelated ones are skipped. */
  async until(test: (message: string) => boolean, withinMs: number, signal: AbortSignal, what: string): Promise<Failure | undefined> {
    const deadline = performance.now() + withinMs;
    for (;;) {
      while (this.inbox.length > 0) if (test(this.inbox.shift() as string)) return undefined;
      const gone = this.failure(signal);
      if (gone) return gone;
      const left = deadline - performance.now();
      if (left <= 0) return { code: 'timeout', message: `${what}: nothing matched within ${formatDuration(withinMs)}` };
      await this.nextEvent(left, signal);
    }
  }

  /** Why the connection can no longer be used, if it cannot. */
  failure(signal: AbortSignal): Failure | undefined {
    if (signal.aborted) return classifyError(signal.reason, signal, 'exchange');
    if (this.error) {
      const classified = classifyError(this.error, signal, 'exchange');
      return classified.code === 'internal' ? { code: 'protocol', message: this.error.message } : classified;
    }
    if (this.closed) return closeFailure(this.closed.code, this.closed.reason);
    return undefined;
  }

  nextEvent(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /** Sends a ping and waits for its pong: RTT in ms, or a failure (a half-open socket times out). */
  async ping(withinMs: number, signal: AbortSignal): Promise<number | Failure> {
    const sentAt = performance.now();
    let ponged = false;
    const onPong = () => {
      ponged = true;
      this.wake?.();
    };
    this.ws.once('pong', onPong);
    this.ws.ping();
    try {
      while (!ponged) {
        const gone = this.failure(signal);
        if (gone) return gone;
        const left = sentAt + withinMs - performance.now();
        if (left <= 0) return { code: 'timeout', message: `no pong within ${formatDuration(withinMs)}: the connection is half-open or the server stopped answering` };
        await this.nextEvent(left, signal);
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
    const gone = conn.failure(ctx.signal);
    if (gone) return gone;
    conn.send(render(step.send, vars));
    return undefined;
  }
  if ('expect' in step) {
    const started = performance.now();
    const failure = await conn.until((m) => matches(m, step.expect, vars), step.expect.within, ctx.signal, `${label} expect`);
    report.checks.push(check(`${label} expect`, failure === undefined, describeMatcher(step.expect), failure ? failure.message : `matched in ${formatDuration(performance.now() - started)}`));
    return failure && failure.code === 'timeout' ? { code: 'assertion', message: failure.message } : failure;
  }
  if ('sleep' in step) return (await conn.nextEvent(step.sleep, ctx.signal), conn.failure(ctx.signal));
  if ('close' in step) {
    conn.ws.close(step.close.code, step.close.reason);
    return undefined;
  }
  const expected = step.expectClose.code;
  await conn.until(() => false, step.expectClose.within, ctx.signal, `${label} expectClose`);
  const got = conn.closed?.code;
  report.checks.push(check(`${label} close code`, got !== undefined && expected.includes(got), expected.join(' or '), got === undefined ? 'still open' : String(got)));
  return got !== undefined && expected.includes(got) ? undefined : { code: got === undefined ? 'timeout' : 'assertion', message: `${label}: expected close ${expected.join(' or ')}, observed ${got ?? 'still open'}` };
}

async function measureRtt(spec: WebSocketProbeSpec, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
  const rtt = spec.rtt;
  if (!rtt || conn.closed) return undefined;
  for (let seq = 1; seq <= rtt.samples; seq++) {
    if (rtt.send === undefined) {
      const sample = await conn.ping(rtt.within, ctx.signal);
      if (typeof sample !== 'number') return sample;
      report.rttMs.push(sample);
      continue;
    }
    const vars = { runId: ctx.runId, seq };
    const sentAt = performance.now();
    conn.send(render(rtt.send, vars));
    const failure = await conn.until((m) => rtt.match === undefined || matches(m, rtt.match, vars), rtt.within, ctx.signal, `rtt sample ${seq}`);
    if (failure) return failure;
    report.rttMs.push(performance.now() - sentAt);
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
  const failure = await conn.until(
    (message) => {
      const seq = Number(selectJson(parseJson(message), b.seqPath)[0]);
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
  return failure && failure.code !== 'timeout' ? failure : undefined;
}

/** Holds the connection, pinging: a socket that stops answering is detected within the window. */
async function hold(spec: WebSocketProbeSpec, ctx: ProbeContext, conn: Connection): Promise<Failure | undefined> {
  const until = performance.now() + spec.hold;
  while (performance.now() < until) {
    const sample = await conn.ping(spec.keepalive.timeout, ctx.signal);
    if (typeof sample !== 'number') return sample;
    const wait = Math.min(spec.keepalive.every, until - performance.now());
    if (wait > 0) await conn.nextEvent(wait, ctx.signal);
    const gone = conn.failure(ctx.signal);
    if (gone) return gone;
  }
  return undefined;
}

interface Vars {
  runId: string;
  seq: number;
}

/** Renders a message template: {{run.id}} and {{seq}} in strings; a string that is exactly
 * "{{seq}}" becomes the number. */
export function render(template: MessageTemplate, vars: Vars): string {
  if ('text' in template) return substitute(template.text, vars);
  return JSON.stringify(renderValue(template.json, vars));
}

function renderValue(value: unknown, vars: Vars): unknown {
  if (typeof value === 'string') return value === '{{seq}}' ? vars.seq : substitute(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, vars)]));
  return value;
}

function substitute(text: string, vars: Vars): string {
  return text.replaceAll('{{run.id}}', vars.runId).replaceAll('{{seq}}', String(vars.seq));
}

export function matches(message: string, matcher: MessageMatcher, vars: Vars): boolean {
  if (matcher.text !== undefined && !message.includes(substitute(matcher.text, vars))) return false;
  if (matcher.regex !== undefined && !matcher.regex.test(message)) return false;
  if (matcher.json !== undefined) {
    const document = parseJson(message);
    for (const [path, wanted] of Object.entries(matcher.json)) {
      const expected = renderValue(wanted, vars);
      if (!selectJson(document, path).some((v) => v === expected)) return false;
    }
  }
  return true;
}

function describeMatcher(matcher: MessageMatcher): string {
  const parts = [
    matcher.text !== undefined ? `text contains ${JSON.stringify(matcher.text)}` : '',
    matcher.regex ? `matches /${matcher.regex.source}/` : '',
    ...Object.entries(matcher.json ?? {}).map(([path, v]) => `${path} == ${JSON.stringify(v)}`),
  ].filter(Boolean);
  return parts.length ? `a message where ${parts.join(' and ')}` : 'any message';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
