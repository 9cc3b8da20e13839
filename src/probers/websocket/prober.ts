// WebSocket prober (ws): handshake with auth and subprotocols, a scripted exchange that waits
// for *matching* messages, RTT samples, a sequence-numbered burst for ordering and loss, a held
// connection with keepalive pings (a half-open socket is caught), and N connections at once.
import type { TlsReport } from '../tls-report.js';
import type { Remote } from '../connect.js';
import { lookupFamily } from '../../config/probe-fields.js';
import { performance } from 'node:perf_hooks';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import { delay, describeMatcher, isFailure, matches, parseJson, render } from '../messages.js';
import { authFor, connectWebSocket, type Auth, type Connection } from '../ws-client.js';
import type { WsStep } from './schema.js';
import { eachConnection } from '../connections.js';
import { spread, Tally } from '../stats.js';
import type { CheckResult, Failure, FailureCode, Phases, ProbeContext, ProberOutcome } from '../types.js';
import type { WebSocketDetail } from './kind.js';


interface ConnReport {
  failure: Failure | undefined;
  phases: Phases;
  handshakeMs: number | undefined;
  /** Round trips of this connection: count, largest and the last 256 (bounded at any rate). */
  rttMs: Tally;
  sent: number;
  received: number;
  outOfOrder: number;
  missing: number;
  duplicate: number;
  /** Burst: how many were sent, the first few sequence numbers that never came back, and an
   * example of disorder ("20 before 19"). */
  sentInBurst: number;
  missingSeqs: number[];
  orderExample: string | undefined;
  subprotocol: string | undefined;
  closeCode: number | undefined;
  checks: CheckResult[];
  tls?: TlsReport | undefined;
  remote?: Remote | undefined;
}

export async function probeWebSocket(spec: ProbeSpec<'websocket'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const auth = await authFor(spec);
  const reports = await eachConnection(spec.connections, ctx.signal, (_, signal) => runConnection(spec, { ...ctx, signal }, auth));
  const first = reports[0] as ConnReport;
  const detail = describe(reports);
  const checks = [...first.checks, ...aggregateChecks(spec, detail).map((c) => withBurstHeadline(c, reports))];
  return { failure: failureOf(spec, reports, checks), phases: first.phases, tls: first.tls, remote: first.remote, checks, detail };
}

/** One connection, start to finish: never throws, always closes its socket. */
async function runConnection(spec: ProbeSpec<'websocket'>, ctx: ProbeContext, auth: Auth): Promise<ConnReport> {
  const report: ConnReport = {
    failure: undefined, phases: {}, handshakeMs: undefined, rttMs: new Tally(256), sent: 0, received: 0,
    outOfOrder: 0, missing: 0, duplicate: 0, sentInBurst: 0, missingSeqs: [], orderExample: undefined, subprotocol: undefined, closeCode: undefined, checks: [],
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
async function open(spec: ProbeSpec<'websocket'>, ctx: ProbeContext, auth: Auth, report: ConnReport): Promise<{ conn: Connection } | { failure: Failure }> {
  const opened = await connectWebSocket({ ...auth, tls: spec.tls, maxPayload: spec.maxPayload, family: lookupFamily(spec.ipFamily) }, ctx.signal, report.phases, report);
  if ('failure' in opened) return opened;
  report.handshakeMs = opened.handshakeMs;
  report.subprotocol = opened.conn.ws.protocol || undefined;
  if (spec.expect.subprotocol !== undefined && opened.conn.ws.protocol !== spec.expect.subprotocol) {
    opened.conn.ws.terminate();
    return { failure: { code: 'handshake', message: `subprotocol: expected ${JSON.stringify(spec.expect.subprotocol)}, server chose ${JSON.stringify(opened.conn.ws.protocol || '(none)')}` } };
  }
  return { conn: opened.conn };
}

async function script(spec: ProbeSpec<'websocket'>, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
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

async function measureRtt(spec: ProbeSpec<'websocket'>, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
  const rtt = spec.rtt;
  if (!rtt || conn.closed) return undefined;
  for (let seq = 1; seq <= rtt.samples; seq++) {
    if (seq > 1 && rtt.every > 0) await delay(rtt.every, ctx.signal);
    if (rtt.send === undefined) {
      const sample = await conn.ping(rtt.within, ctx.signal);
      if (typeof sample !== 'number') return sample;
      report.rttMs.add(sample);
      continue;
    }
    const vars = { runId: ctx.runId, seq };
    const sentAt = performance.now();
    conn.send(render(rtt.send, vars));
    const got = await conn.inbox.until((m) => rtt.match === undefined || matches(m, rtt.match, vars), rtt.within, ctx.signal, `rtt sample ${seq}`);
    if (isFailure(got)) return got;
    report.rttMs.add(got.at - sentAt);
  }
  return undefined;
}

/** Sends `count` numbered messages at once and reads the echoes: order, loss, duplicates. */
async function burst(spec: ProbeSpec<'websocket'>, ctx: ProbeContext, conn: Connection, report: ConnReport): Promise<Failure | undefined> {
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
      else if (seq < highest) {
        report.outOfOrder++;
        report.orderExample ??= `${highest} before ${seq}`;
      }
      seen.add(seq);
      highest = Math.max(highest, seq);
      return seen.size === b.count;
    },
    b.within,
    ctx.signal,
    'burst',
  );
  report.missing = b.count - seen.size;
  report.sentInBurst = b.count;
  for (let seq = 1; seq <= b.count && report.missingSeqs.length < 5; seq++) if (!seen.has(seq)) report.missingSeqs.push(seq);
  // Losing messages is a figure to check, not a broken connection.
  return isFailure(got) && got.code !== 'timeout' ? got : undefined;
}

/** Holds the connection, pinging: a socket that stops answering is detected within the window. */
async function hold(spec: ProbeSpec<'websocket'>, ctx: ProbeContext, conn: Connection): Promise<Failure | undefined> {
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
  const rtt = reports.flatMap((r) => r.rttMs.recent());
  const sum = (f: (r: ConnReport) => number) => reports.reduce((acc, r) => acc + f(r), 0);
  return {
    kind: 'websocket',
    connections: reports.length,
    connectionsOk: reports.filter((r) => !r.failure).length,
    failures,
    handshakeMs: spread(reports.flatMap((r) => (r.handshakeMs === undefined ? [] : [r.handshakeMs]))),
    rttMs: spread(rtt),
    // What the metrics keep: the last 256.
    rttSamplesMs: rtt.slice(-256),
    sent: sum((r) => r.sent),
    received: sum((r) => r.received),
    outOfOrder: sum((r) => r.outOfOrder),
    missing: sum((r) => r.missing),
    duplicate: sum((r) => r.duplicate),
    subprotocol: reports[0]?.subprotocol,
    closeCode: reports[0]?.closeCode,
  };
}

function aggregateChecks(spec: ProbeSpec<'websocket'>, detail: WebSocketDetail): CheckResult[] {
  const { expect } = spec;
  const checks: CheckResult[] = [];
  const soft = spec.degradeWhen;
  if (detail.handshakeMs) checks.push(...limitChecks([checkLimit('handshake p95', detail.handshakeMs.p95, { fail: expect.maxHandshake, degrade: soft.maxHandshake }, 'duration')]));
  if (detail.rttMs) {
    const rtt = detail.rttMs;
    checks.push(...limitChecks([
      checkLimit('rtt p50', rtt.p50, { fail: expect.rttP50, degrade: soft.rttP50 }, 'duration'),
      checkLimit('rtt p95', rtt.p95, { fail: expect.rttP95, degrade: soft.rttP95 }, 'duration'),
      checkLimit('rtt p99', rtt.p99, { fail: expect.rttP99, degrade: soft.rttP99 }, 'duration'),
    ]));
  }
  if (spec.burst) {
    checks.push(...limitChecks([
      checkLimit('out of order', detail.outOfOrder, { fail: expect.maxOutOfOrder, degrade: soft.maxOutOfOrder }, 'count'),
      checkLimit('missing', detail.missing, { fail: expect.maxMissing, degrade: soft.maxMissing }, 'count'),
      checkLimit('duplicate', detail.duplicate, { fail: expect.maxDuplicate, degrade: soft.maxDuplicate }, 'count'),
    ]));
  }
  if (spec.connections > 1) {
    const failed = detail.connections - detail.connectionsOk;
    const result = checkLimit('failed connections', failed, { fail: expect.maxFailedConnections, degrade: soft.maxFailedConnections }, 'count');
    if (result) checks.push({ ...result, observed: `${failed} of ${detail.connections}` });
  }
  return checks;
}

/** One connection: its own failure. Several: tolerated up to maxFailedConnections. Then checks. */
function failureOf(spec: ProbeSpec<'websocket'>, reports: ConnReport[], checks: readonly CheckResult[]): Failure | undefined {
  const failedReports = reports.filter((r) => r.failure);
  const firstFailure = failedReports[0]?.failure;
  if (firstFailure && (spec.connections === 1 || failedReports.length > spec.expect.maxFailedConnections)) {
    return spec.connections === 1 ? firstFailure : { code: firstFailure.code, message: `${failedReports.length} of ${reports.length} connections failed; first: ${firstFailure.message}` };
  }
  return failureFromChecks(checks);
}

function withBurstHeadline(check: CheckResult, reports: ConnReport[]): CheckResult {
  const headline = check.ok ? undefined : burstHeadline(check, reports);
  return headline === undefined ? check : { ...check, headline };
}

/** Loss and disorder in words: which sequence numbers, what share, an example. */
function burstHeadline(check: CheckResult, reports: ConnReport[]): string | undefined {
  const report = reports.find((r) => r.missing > 0 || r.outOfOrder > 0 || r.duplicate > 0);
  if (!report) return undefined;
  const sent = report.sentInBurst;
  const share = (n: number) => `${((100 * n) / Math.max(1, sent)).toFixed(1)}%`;
  switch (check.name) {
    case 'missing':
      return `${report.missing} of ${sent} burst messages lost (${share(report.missing)}): ${report.missingSeqs.join(', ')}${report.missing > report.missingSeqs.length ? ', …' : ''} never came back (limit ${check.expected})`;
    case 'out of order':
      return `${report.outOfOrder} of ${sent} burst messages out of order (${share(report.outOfOrder)}), e.g. ${report.orderExample} (limit ${check.expected})`;
    case 'duplicate':
      return `${report.duplicate} burst messages came back twice (limit ${check.expected})`;
    default:
      return undefined;
  }
}

