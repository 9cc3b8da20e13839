// SSE prober: subscribes with undici + eventsource-parser (the lean path: ~12 KiB and ~13 µs
// per stream/event here, against ~74 KiB and ~50 µs for the `eventsource` package), holds the
// stream for its window, and measures what a subscriber lives through: first event, gaps,
// id continuity, resume with Last-Event-ID, fan-out across N subscribers. A server that ends
// the stream is reconnected to as an EventSource would (retry:, Last-Event-ID), as often as it
// takes: servers that rotate their streams are normal. Reconnects are counted and timed, with
// limits only if the probe sets them; what always fails is a storm (5 within a second) or a
// break in the ids across. Gaps are measured within a connection: the time from a drop to the
// first event after it is the reconnect's own figure, never a silence of the server.
import { performance } from 'node:perf_hooks';
import type { EventSourceMessage } from 'eventsource-parser';
import { request, type Dispatcher } from 'undici';
import { lookupFamily } from '../../config/probe-fields.js';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration, formatSize } from '../../config/units.js';
import { check, checkLimit, checkStatus, failureFromChecks, limitChecks } from '../checks.js';
import { readEventStream, streamRefusal, type StreamBytes } from '../event-stream.js';
import { classifyError } from '../classify-error.js';
import { causeOf, stageOf, timedAgent, type Timeline } from '../connect.js';
import { delay, sentAt } from '../messages.js';
import { eachConnection } from '../connections.js';
import { maxOf, minOf, spread, Tally } from '../stats.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { SseDetail } from './kind.js';

interface Received {
  id: string | undefined;
  type: string;
  data: string;
  at: number;
}

/** What one subscriber saw over the window (all times from performance.now()). */
interface ClientReport {
  failure: Failure | undefined;
  status: number | undefined;
  startedAt: number;
  firstEventAt: number | undefined;
  lastEventAt: number | undefined;
  events: number;
  comments: number;
  /** Gaps between events within a connection (the first from the first response's headers):
   * count, longest and the last 1,024, bounded whatever the event rate. */
  gaps: Tally;
  /** Where the gap now open started (the last event, or the first response's headers);
   * undefined between a drop and the first event after it. */
  gapFrom: number | undefined;
  /** A reconnect under way: when the stream dropped. Its first event closes the reconnect. */
  reconnectingSince: number | undefined;
  /** When the latest response headers came (the resume check: did it reconnect at all). */
  lastHeadersAt: number | undefined;
  /** The latest reconnects' start times: a storm is STORM_RECONNECTS within STORM_MS. */
  recentReconnects: number[];
  /** stream.bytes at the latest event: what arrived since, for a silence's headline. */
  bytesAtEvent: number;
  lastNumericId: number | undefined;
  lastId: string | undefined;
  missingIds: number;
  duplicateIds: number;
  /** The first few id gaps, as "4–6 (after 3 came 7)". */
  idGaps: string[];
  /** The first few repeated ids, as "5 (after 6)". */
  idRepeats: string[];
  /** Comment lines since the last event (heartbeats during a silence). */
  commentsSinceEvent: number;
  /** Raw bytes seen, for a stream where no event completed. */
  stream: StreamBytes;
  /** The longest reconnect: from the drop to the first event after it (to the headers when
   * no event came on that connection). */
  reconnectMs: number | undefined;
  reconnects: number;
  /** Times the server ended the stream (each reconnected to, within the policy). */
  serverEnds: number;
  /** The planned resume drop reconnected (resume.after). */
  resumed: boolean;
  retryMs: number | undefined;
  /** With eventTime: events' ages on arrival (ms): the last 4,096 make the percentiles. */
  ages: Tally;
  /** Fan-out only: arrival time per event id. */
  arrivals: Map<string, number> | undefined;
  content: ContentChecks;
}

/** Expectations on every event's content, evaluated as events arrive (nothing is kept). */
interface ContentChecks {
  badType: string | undefined;
  missingText: string | undefined;
  json: Map<string, string | undefined>;
}

type SegmentEnd =
  | { kind: 'window' }
  /** The server ended the stream cleanly: an EventSource reconnects. */
  | { kind: 'ended'; at: number }
  | { kind: 'enough' }
  | { kind: 'drop' }
  | { kind: 'failure'; failure: Failure };

export async function probeSse(spec: ProbeSpec<'sse'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const started = performance.now();
  // The first subscriber has its own timed connection (the run's phases); the others of a
  // fan-out share one pool, as a real client library would (measured: an Agent each costs
  // ~13 KB of RSS per stream at 10,000 streams).
  const othersTimeline: Timeline = { phases: {}, connectedAt: undefined };
  const shared = spec.clients > 1 ? timedAgent(spec.tls, othersTimeline, ctx.signal, { connections: spec.clients - 1, family: lookupFamily(spec.ipFamily) }) : undefined;
  const reports = await eachConnection(spec.clients, ctx.signal, (i, signal) => {
    const own = i === 0 || !shared;
    return subscribe(spec, { ...ctx, signal }, own ? timeline : othersTimeline, spec.clients > 1, own ? undefined : shared);
  }).finally(() => shared?.close().catch(() => undefined));
  const first = reports[0] as ClientReport;
  if (first.firstEventAt !== undefined) timeline.phases.first_event = first.firstEventAt - started;
  const detail = describe(reports, spec);
  const failure = first.failure ?? fanOutFailure(reports);
  const checks = failure && first.status === undefined ? [] : evaluate(spec, first, detail);
  return { failure: withBursts(mostSpecific(failure, checks) ?? failureFrom(checks, first), checks, detail), phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail, degradation: burstsDegradation(checks, detail) };
}

/** Late or stale events from a stream that delivers in bursts: the bursts are the cause to
 * name, before the figure they made fail. */
function withBursts(failure: Failure | undefined, checks: CheckResult[], detail: SseDetail): Failure | undefined {
  const first = checks.find((c) => !c.ok);
  const timing = failure?.code === 'stale' || (first !== undefined && TIME_FIGURES.includes(first.name));
  if (!failure || !detail.bursts || !timing || failure.code === 'http_status') return failure;
  return { code: failure.code, message: `${burstsHeadline(detail.bursts, detail)}: ${failure.code === 'stale' || !first ? failure.message : overLimit(first)}` };
}

/** A degraded run's headline when bursts made a time figure degrade. */
function burstsDegradation(checks: CheckResult[], detail: SseDetail): string | undefined {
  const first = checks.find((c) => c.ok && c.degraded);
  if (!detail.bursts || !first || !TIME_FIGURES.includes(first.name)) return undefined;
  return `${burstsHeadline(detail.bursts, detail)}: ${overLimit(first)}, over its degrade limit`;
}

const TIME_FIGURES = ['first event', 'longest gap', 'event age p99'];

function burstsHeadline(bursts: NonNullable<SseDetail['bursts']>, detail: SseDetail): string {
  const age = detail.eventAgeMs ? `; age up to ${formatDuration(detail.eventAgeMs.max)}` : '';
  return `events arrive in bursts of ${bursts.size} every ${formatDuration(bursts.everyMs)} (buffering in front of the stream?)${age}`;
}

/** "first event 2.1s > 1s": a figure against the limit it broke. */
function overLimit(c: CheckResult): string {
  const failedAbove = /failed above (\S+?)\)/.exec(c.expected)?.[1];
  const limit = !c.ok && failedAbove ? failedAbove : /^<= (\S+)/.exec(c.expected)?.[1];
  return limit ? `${c.name} ${c.observed} > ${limit}` : `${c.name}: expected ${c.expected}, observed ${c.observed}`;
}

/** A stream that went stale or closed after ids went missing: the gap is the more specific cause
 * (the silence may only be its consequence), so it leads the headline. */
function mostSpecific(failure: Failure | undefined, checks: CheckResult[]): Failure | undefined {
  if (!failure || (failure.code !== 'stale' && failure.code !== 'closed')) return failure;
  const ids = checks.filter((c) => !c.ok && c.headline !== undefined && ID_CHECKS.includes(c.name)).map((c) => c.headline);
  return ids.length ? { code: 'assertion', message: `${ids.join('; ')}; then ${failure.message}` } : failure;
}

async function subscribe(spec: ProbeSpec<'sse'>, ctx: ProbeContext, timeline: Timeline, fanOut: boolean, sharedAgent: Dispatcher | undefined): Promise<ClientReport> {
  const report: ClientReport = {
    failure: undefined, status: undefined, startedAt: performance.now(), firstEventAt: undefined, lastEventAt: undefined,
    events: 0, comments: 0, gaps: new Tally(GAPS_KEPT), gapFrom: undefined, reconnectingSince: undefined, lastHeadersAt: undefined, recentReconnects: [], bytesAtEvent: 0, lastNumericId: undefined, lastId: undefined, missingIds: 0, duplicateIds: 0, idGaps: [], idRepeats: [],
    commentsSinceEvent: 0, stream: { bytes: 0, unterminated: 0, fieldLines: 0 },
    reconnectMs: undefined, reconnects: 0, serverEnds: 0, resumed: false, retryMs: undefined, ages: new Tally(AGES_KEPT),
    arrivals: fanOut ? new Map() : undefined,
    content: { badType: undefined, missingText: undefined, json: new Map() },
  };
  const own = sharedAgent ? undefined : timedAgent(spec.tls, timeline, ctx.signal, { family: lookupFamily(spec.ipFamily) });
  const agent = (sharedAgent ?? own) as Dispatcher;
  try {
    const windowEnd = report.startedAt + spec.hold;
    const dropAt = spec.resume ? report.startedAt + spec.resume.after : undefined;
    let end = await segment(spec, ctx, agent, timeline, report, dropAt ?? windowEnd, dropAt !== undefined, undefined);
    for (;;) {
      if (end.kind === 'drop') end = await reconnect(spec, ctx, agent, timeline, report, windowEnd, performance.now(), 'resume');
      else if (end.kind === 'ended') end = await reconnect(spec, ctx, agent, timeline, report, windowEnd, end.at, 'server-ended');
      else {
        if (end.kind === 'failure') report.failure = end.failure;
        break;
      }
    }
  } finally {
    own?.close().catch(() => undefined);
  }
  return report;
}

/** Reconnects as an EventSource does: waits the server's `retry:` (bounded by the window),
 * sends Last-Event-ID, and reads on; missed or repeated ids across the reconnect show in the id
 * counters, its time in reconnectMs. A storm — STORM_RECONNECTS within STORM_MS — ends the run:
 * a server that drops every stream at once is down, however often it answers. */
async function reconnect(spec: ProbeSpec<'sse'>, ctx: ProbeContext, agent: Dispatcher, timeline: Timeline, report: ClientReport, windowEnd: number, since: number, why: 'resume' | 'server-ended'): Promise<SegmentEnd> {
  const wait = Math.min(report.retryMs ?? 0, Math.max(0, windowEnd - performance.now() - 1));
  if (wait > 0) await delay(wait, ctx.signal);
  if (ctx.signal.aborted) return { kind: 'failure', failure: classifyError(ctx.signal.reason, ctx.signal, 'exchange') };
  const now = performance.now();
  if (now >= windowEnd) return { kind: 'window' };
  report.recentReconnects = [...report.recentReconnects.slice(-(STORM_RECONNECTS - 1)), now];
  const stormStart = report.recentReconnects[0] as number;
  if (report.recentReconnects.length === STORM_RECONNECTS && now - stormStart < STORM_MS) {
    const retry = report.retryMs === undefined ? 'no retry: hint' : `retry: ${formatDuration(report.retryMs)}`;
    return { kind: 'failure', failure: { code: 'closed', message: `reconnect storm: the server ended the stream ${STORM_RECONNECTS} times in ${formatDuration(now - stormStart)} (more than ${STORM_RECONNECTS} a second; ${retry}); ${report.events} event(s), ${formatDuration(now - report.startedAt)} into the window` } };
  }
  report.reconnects++;
  if (why === 'server-ended') report.serverEnds++;
  report.reconnectingSince = since;
  report.gapFrom = undefined;
  const headersBefore = report.lastHeadersAt;
  const end = await segment(spec, ctx, agent, timeline, report, windowEnd, false, since);
  if (why === 'resume' && report.lastHeadersAt !== headersBefore) report.resumed = true;
  return end;
}

/** A reconnect storm: this many reconnects within STORM_MS. A stream the server rotates every
 * few seconds (serverless, edge runtimes, load balancers' idle limits) stays far below it. */
const STORM_RECONNECTS = 5;
const STORM_MS = 1_000;

/** One connection: open, check status and content type, read events until `until`. */
async function segment(
  spec: ProbeSpec<'sse'>,
  ctx: ProbeContext,
  agent: Dispatcher,
  timeline: Timeline,
  report: ClientReport,
  until: number,
  isDrop: boolean,
  reconnectingSince: number | undefined,
): Promise<SegmentEnd> {
  const local = new AbortController();
  let end: SegmentEnd | undefined;
  const stop = (why: SegmentEnd) => {
    end ??= why;
    local.abort();
  };
  const onAbort = () => stop({ kind: 'failure', failure: classifyError(ctx.signal.reason, ctx.signal, stageOf(timeline)) });
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const windowTimer = setTimeout(() => stop(isDrop ? { kind: 'drop' } : { kind: 'window' }), Math.max(0, until - performance.now()));
  let staleTimer: NodeJS.Timeout | undefined;
  const armStale = () => {
    if (spec.expect.maxGap === undefined) return;
    clearTimeout(staleTimer);
    const gap = spec.expect.maxGap;
    staleTimer = setTimeout(() => stop({ kind: 'failure', failure: { code: 'stale', message: `no event for ${formatDuration(gap)} (maxGap ${formatDuration(gap)})${meanwhile(report)} after ${report.events} event(s)` } }), gap);
  };
  try {
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache', ...spec.headers };
    if (reconnectingSince !== undefined && report.lastId !== undefined) headers['last-event-id'] = report.lastId;
    const sentAt = performance.now();
    const res = await request(spec.url, { dispatcher: agent, method: 'GET', headers, signal: local.signal });
    const headersAt = performance.now();
    if (reconnectingSince === undefined) timeline.phases.first_byte = headersAt - Math.max(timeline.connectedAt ?? 0, sentAt);
    else report.reconnectMs = Math.max(report.reconnectMs ?? 0, headersAt - reconnectingSince);
    report.status = res.statusCode;
    const refused = streamRefusal(res, spec.expect.status);
    if (refused) {
      res.body.destroy();
      return { kind: 'failure', failure: refused };
    }
    report.lastHeadersAt = headersAt;
    if (reconnectingSince === undefined) report.gapFrom = headersAt;
    if (report.lastEventAt === undefined) report.lastEventAt = headersAt;
    armStale();
    await read(res.body, spec, report, stop, armStale);
    if (end) return end;
    // A reset can end a close-delimited body before the socket's own error is out: one turn
    // of the event loop lets it arrive, so a reset is never read as a clean end.
    await new Promise((resolve) => setImmediate(resolve));
    if (end) return end;
    const into = formatDuration(performance.now() - report.startedAt);
    if (timeline.socketError === 'ECONNRESET') return { kind: 'failure', failure: { code: 'closed', message: `connection reset by the peer after ${report.events} event(s), ${into} into the window (ECONNRESET)` } };
    return { kind: 'ended', at: performance.now() };
  } catch (error) {
    const elapsed = formatDuration(performance.now() - report.startedAt);
    if (end && end.kind !== 'failure' && report.status === undefined) {
      return { kind: 'failure', failure: { code: 'timeout', message: `no response headers within the ${elapsed} window` } };
    }
    // The run's deadline before any answer: where it stopped, in words (never the abort's text).
    if (end?.kind === 'failure' && end.failure.code === 'timeout' && report.status === undefined) {
      return { kind: 'failure', failure: { code: 'timeout', message: timeline.connectedAt === undefined ? `no connection after ${elapsed} (DNS, connect or TLS did not finish)` : `no response headers after ${elapsed}` } };
    }
    if (end) return end;
    const failure = classifyError(causeOf(error, timeline), ctx.signal, stageOf(timeline));
    // "connection reset by the peer after 1 event (ECONNRESET…)": how far the stream got.
    return { kind: 'failure', failure: failure.code === 'closed' ? { code: 'closed', message: failure.message.replace(/^([^(]*?)( \(|$)/, `$1 after ${report.events} event(s)$2`) } : failure };
  } finally {
    clearTimeout(windowTimer);
    clearTimeout(staleTimer);
    ctx.signal.removeEventListener('abort', onAbort);
    local.abort();
  }
}

async function read(
  body: Dispatcher.ResponseData['body'],
  spec: ProbeSpec<'sse'>,
  report: ClientReport,
  stop: (why: SegmentEnd) => void,
  armStale: () => void,
): Promise<void> {
  await readEventStream(body, spec.maxEventSize, {
    onEvent: (message) => {
      onEvent(message, spec, report);
      armStale();
      if (endsEarly(spec) && report.events >= spec.expect.minEvents) stop({ kind: 'enough' });
    },
    onComment: () => void (report.comments++, report.commentsSinceEvent++),
    onRetry: (ms) => void (report.retryMs = ms),
    onBroken: (failure) => stop({ kind: 'failure', failure }),
  }, report.stream);
}

/** The window may end as soon as enough events arrived, unless something needs all of it. */
function endsEarly(spec: ProbeSpec<'sse'>): boolean {
  return !spec.holdFull && spec.resume === undefined && spec.expect.maxGap === undefined && spec.clients === 1 && spec.expect.minEvents > 0;
}

function onEvent(message: EventSourceMessage, spec: ProbeSpec<'sse'>, report: ClientReport): void {
  const now = performance.now();
  const event: Received = { id: message.id, type: message.event ?? 'message', data: message.data, at: now };
  report.firstEventAt ??= now;
  // The first event after a reconnect ends the reconnect; any other ends a gap.
  if (report.reconnectingSince !== undefined) report.reconnectMs = Math.max(report.reconnectMs ?? 0, now - report.reconnectingSince);
  else if (report.gapFrom !== undefined) report.gaps.add(now - report.gapFrom);
  report.reconnectingSince = undefined;
  report.gapFrom = now;
  report.lastEventAt = now;
  report.bytesAtEvent = report.stream.bytes;
  report.events++;
  report.commentsSinceEvent = 0;
  if (event.id !== undefined) {
    trackId(event.id, report);
    report.lastId = event.id;
    if (report.arrivals && report.arrivals.size < 100_000) report.arrivals.set(event.id, now);
  }
  checkContent(event, spec, report.content);
  if (spec.eventTime !== undefined) {
    const sent = sentAt(event.data, spec.eventTime);
    if (sent !== undefined) report.ages.add(performance.timeOrigin + performance.now() - sent);
  }
}

/** Numeric ids: count what was skipped (missing) and what came again (duplicate). */
function trackId(id: string, report: ClientReport): void {
  if (!/^\d+$/.test(id)) return;
  const n = Number(id);
  const last = report.lastNumericId;
  if (last !== undefined) {
    if (n > last + 1) {
      report.missingIds += n - last - 1;
      if (report.idGaps.length < 3) report.idGaps.push(`${n - last - 1 === 1 ? `id ${last + 1}` : `ids ${last + 1}–${n - 1}`} missing (after ${last} came ${n})`);
    }
    if (n <= last) {
      report.duplicateIds++;
      if (report.idRepeats.length < 3) report.idRepeats.push(`id ${n} again (after ${last})`);
    }
  }
  if (last === undefined || n > last) report.lastNumericId = n;
}

function checkContent(event: Received, spec: ProbeSpec<'sse'>, content: ContentChecks): void {
  const { expect } = spec;
  if (expect.eventType && content.badType === undefined && !expect.eventType.includes(event.type)) content.badType = event.type;
  if (expect.dataContains !== undefined && content.missingText === undefined && !event.data.includes(expect.dataContains)) content.missingText = excerpt(event.data);
  if (!expect.json) return;
  let document: unknown;
  try {
    document = JSON.parse(event.data);
  } catch {
    document = undefined;
  }
  for (const { path, assertion } of expect.json) {
    if (content.json.get(path.source) !== undefined) continue;
    const values = path.select(document);
    content.json.set(path.source, assertion.holds(values) ? undefined : document === undefined ? 'not JSON' : assertion.observed(values));
  }
}

function evaluate(spec: ProbeSpec<'sse'>, report: ClientReport, detail: SseDetail): CheckResult[] {
  const { expect } = spec;
  const checks: CheckResult[] = [];
  if (report.status !== undefined) checks.push(checkStatus(report.status, expect.status));
  checks.push(check('events', report.events >= expect.minEvents, `>= ${expect.minEvents}`, String(report.events)));
  const soft = spec.degradeWhen;
  const first = detail.events > 0 && report.firstEventAt !== undefined ? report.firstEventAt - report.startedAt : undefined;
  checks.push(...limitChecks([checkLimit('first event', first, { fail: expect.firstEventWithin, degrade: soft.firstEventWithin }, 'duration')]));
  if (detail.longestGapMs !== undefined) checks.push(...limitChecks([checkLimit('longest gap', detail.longestGapMs, { fail: expect.maxGap, degrade: soft.maxGap }, 'duration')]));
  if (expect.eventType) checks.push(check('event type', report.content.badType === undefined, `one of ${expect.eventType.join(', ')}`, report.content.badType ?? 'all matched'));
  if (expect.dataContains !== undefined) checks.push(check('data contains', report.content.missingText === undefined, `contains ${JSON.stringify(expect.dataContains)}`, report.content.missingText ?? 'all matched'));
  for (const { path, assertion } of expect.json ?? []) {
    const bad = report.content.json.get(path.source);
    const c = check(`json ${path.source}`, bad === undefined, `${assertion.describe()} in every event`, bad ?? (report.events ? 'all matched' : 'no events'));
    checks.push(bad === undefined ? c : { ...c, headline: `${path.source} ${bad}, expected ${assertion.describe()} in every event` });
  }
  if (expect.maxEventAge !== undefined && !detail.eventAgeMs) checks.push(check('event age p99', false, `<= ${formatDuration(expect.maxEventAge)}`, 'no timestamped events'));
  else checks.push(...limitChecks([checkLimit('event age p99', detail.eventAgeMs?.p99, { fail: expect.maxEventAge, degrade: soft.maxEventAge }, 'duration')]));
  if (report.lastNumericId !== undefined) {
    checks.push(...limitChecks([
      withIdHeadline(checkLimit('missing ids', report.missingIds, { fail: expect.maxMissingIds, degrade: soft.maxMissingIds }, 'count'), report),
      withIdHeadline(checkLimit('duplicate ids', report.duplicateIds, { fail: expect.maxDuplicateIds, degrade: soft.maxDuplicateIds }, 'count'), report),
    ]));
  }
  checks.push(...limitChecks([checkLimit('reconnects', report.reconnects, { fail: expect.maxReconnects, degrade: soft.maxReconnects }, 'count')]));
  if (report.reconnectMs !== undefined) checks.push(...limitChecks([checkLimit('reconnect time', report.reconnectMs, { fail: expect.reconnectWithin, degrade: soft.reconnectWithin }, 'duration')]));
  if (spec.resume) checks.push(check('resume', report.resumed, 'reconnected with Last-Event-ID', !report.resumed || report.reconnectMs === undefined ? 'no reconnect' : `reconnected in ${formatDuration(report.reconnectMs)}`));
  if (spec.clients > 1) {
    checks.push(check('fan-out clients', detail.clientsOk === spec.clients, `${spec.clients} ok`, `${detail.clientsOk} ok`));
    checks.push(check('fan-out same events', detail.sameEvents !== false, 'every client sees the same events', detail.sameEvents === false ? 'clients differ' : 'same'));
  }
  return checks;
}

/** A run whose checks failed: `stale` when nothing arrived at all, otherwise `assertion`. */
function failureFrom(checks: CheckResult[], report: ClientReport): Failure | undefined {
  const failure = failureFromChecks(checks);
  if (!failure || failure.code === 'http_status' || report.events > 0) return failure;
  return { code: 'stale', message: silence(report) };
}

/** Why no event arrived, in words: nothing at all, only heartbeats, or bytes that never made an event. */
function silence(report: ClientReport): string {
  const window = formatDuration(performance.now() - report.startedAt);
  const { bytes, unterminated, fieldLines } = report.stream;
  // A stream that sent only comments or a retry: hint went silent: that is not a framing problem.
  if (fieldLines === 0 && report.comments > 0) return `only heartbeats: ${report.comments} comment line(s), no event in ${window}`;
  if (fieldLines === 0 && report.retryMs !== undefined) return `silent: no event in ${window}; the stream sent only a retry: ${formatDuration(report.retryMs)} hint`;
  if (unterminated > 0) return `partial event never terminated: ${formatSize(unterminated)} without a line end (${formatSize(bytes)} received, no event in ${window})`;
  if (fieldLines > 0) return `${formatSize(bytes)} of event lines but no event completed in ${window} (no blank line ended one, or no data: field)`;
  if (bytes > 0) return `not an event stream: ${formatSize(bytes)} received in ${window}, none of it an event field (data:, event:, id:)`;
  return `no event within the ${window} window: nothing after the headers`;
}

/** What arrived during a silence, for its headline: bytes of a line that never ended, bytes
 * that made no event, or heartbeats — a stream that says nothing and one that sends a line it
 * never finishes are different faults. */
function meanwhile(report: ClientReport): string {
  const { unterminated, bytes } = report.stream;
  if (unterminated > 0) return `: ${formatSize(unterminated)} of a line that never ended,`;
  if (report.commentsSinceEvent > 0) return `: ${report.commentsSinceEvent} heartbeat(s) meanwhile,`;
  const since = bytes - report.bytesAtEvent;
  if (report.events > 0 && since > 0) return `: ${formatSize(since)} that made no event,`;
  return '';
}

const ID_CHECKS = ['missing ids', 'duplicate ids'];

/** A failed id check names the ids: "id 41 → 45 (3 missing) — 3 missing in all". */
function withIdHeadline(c: CheckResult | undefined, report: ClientReport): CheckResult | undefined {
  if (!c || c.ok) return c;
  if (c.name === 'missing ids' && report.idGaps.length) return { ...c, headline: `${report.idGaps.join('; ')}${report.missingIds > 0 ? ` — ${report.missingIds} missing in all` : ''}` };
  if (c.name === 'duplicate ids' && report.idRepeats.length) return { ...c, headline: `${report.idRepeats.join('; ')} — ${report.duplicateIds} repeated in all` };
  return c;
}

function fanOutFailure(reports: ClientReport[]): Failure | undefined {
  const index = reports.findIndex((r) => r.failure !== undefined);
  const failed = reports[index]?.failure;
  if (!failed) return undefined;
  return { code: failed.code, message: `client ${index + 1}/${reports.length}: ${failed.message}` };
}

function describe(reports: ClientReport[], spec: ProbeSpec<'sse'>): SseDetail {
  const first = reports[0] as ClientReport;
  const now = performance.now();
  const windowMs = now - first.startedAt;
  // Gaps start at the response headers, so a stream that never sends has one long gap; the gap
  // still open when the run ended counts (a stream gone quiet is quiet however the run ended).
  const open = first.gapFrom === undefined ? undefined : now - first.gapFrom;
  const longest = maxOf([first.gaps.max, open].filter((v): v is number => v !== undefined));
  const detail: SseDetail = {
    kind: 'sse',
    status: first.status,
    events: first.events,
    comments: first.comments,
    eventsPerMinute: windowMs > 0 ? (first.events * 60_000) / windowMs : 0,
    eventAgeMs: spread(reports.flatMap((r) => r.ages.recent())),
    longestGapMs: longest,
    // What the metrics keep of them: the last 256 (the whole stream stays in count and max).
    gapsMs: first.gaps.recent().slice(-256),
    sinceLastEventMs: first.lastEventAt === undefined ? undefined : now - first.lastEventAt,
    missingIds: first.missingIds,
    duplicateIds: first.duplicateIds,
    reconnectMs: first.reconnectMs,
    reconnects: first.reconnects,
    serverEnds: first.serverEnds,
    clients: reports.length,
    clientsOk: reports.filter((r) => r.failure === undefined).length,
    firstEventSpreadMs: undefined,
    deliverySpreadMs: undefined,
    sameEvents: undefined,
    bursts: burstsOf(first.gaps.recent(), first.gaps.count <= GAPS_KEPT),
  };
  if (spec.clients > 1) Object.assign(detail, compareClients(reports));
  return detail;
}

const GAPS_KEPT = 1_024;
const AGES_KEPT = 4_096;

/** Events closer than this arrived together (one read, one flush of a buffer). */
const SAME_BURST_MS = 5;

/** Bursts from the recent gaps between events (the first gap, from the headers, does not count
 * when it is still among them). */
function burstsOf(gaps: readonly number[], withFirst: boolean): SseDetail['bursts'] {
  const between = withFirst ? gaps.slice(1) : gaps;
  if (between.length < 3) return undefined;
  const sizes: number[] = [1];
  const apart: number[] = [];
  for (const gap of between) {
    if (gap < SAME_BURST_MS) sizes[sizes.length - 1] = (sizes[sizes.length - 1] as number) + 1;
    else (sizes.push(1), apart.push(gap));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const size = median(sizes);
  return size >= 2 && apart.length > 0 ? { size, everyMs: median(apart) } : undefined;
}

/** Fan-out: within the span every client was listening, did all see the same events, and how
 * far apart did each event reach them? */
function compareClients(reports: ClientReport[]): Pick<SseDetail, 'firstEventSpreadMs' | 'deliverySpreadMs' | 'sameEvents'> {
  const firsts = reports.flatMap((r) => (r.firstEventAt === undefined ? [] : [r.firstEventAt - r.startedAt]));
  const maps = reports.map((r) => r.arrivals ?? new Map<string, number>());
  const ids = [...(maps[0]?.keys() ?? [])];
  let sameEvents = true;
  let spread = 0;
  // Only events that every client could have seen: after the last first arrival, before the first last one.
  // Loops, not spreads: a client may hold 100,000 arrivals.
  const from = maxOf(maps.map((m) => minOf(m.values()) ?? Number.POSITIVE_INFINITY)) ?? 0;
  const to = minOf(maps.map((m) => maxOf(m.values()) ?? Number.NEGATIVE_INFINITY)) ?? 0;
  for (const id of ids) {
    const t0 = maps[0]?.get(id) as number;
    if (t0 < from || t0 > to) continue;
    const times = maps.map((m) => m.get(id));
    if (times.some((t) => t === undefined)) sameEvents = false;
    else spread = Math.max(spread, (maxOf(times as number[]) ?? 0) - (minOf(times as number[]) ?? 0));
  }
  return {
    firstEventSpreadMs: firsts.length === reports.length ? (maxOf(firsts) ?? 0) - (minOf(firsts) ?? 0) : undefined,
    deliverySpreadMs: ids.length ? spread : undefined,
    sameEvents: ids.length ? sameEvents : undefined,
  };
}

function excerpt(text: string): string {
  // Shortened by run-probe, after secrets are removed.
  return JSON.stringify(text.replace(/\s+/g, ' '));
}
