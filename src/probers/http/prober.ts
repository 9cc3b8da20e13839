// HTTP prober: one fresh connection per run (so dns/connect/tls are measured, as blackbox does),
// redirects followed by hand, the body read under a size cap, every expectation checked.
import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import type { Client, Dispatcher } from 'undici';
import { lookupFamily } from '../../config/probe-fields.js';
import { formatDuration } from '../../config/units.js';
import type { ProbeSpec } from '../../config/schema.js';
import {
  check,
  checkContains,
  checkJsonPath,
  checkMatches,
  checkLimit,
  limitChecks,
  checkStatus,
  failureFromChecks,
} from '../checks.js';
import { classifyError } from '../classify-error.js';
import { causeOf, dropDispatcher, stageOf, timedClient, type Timeline } from '../connect.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { HttpDetail } from './kind.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);


export async function probeHttp(spec: ProbeSpec<'http'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const started = performance.now();
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const detail: HttpDetail = { kind: 'http', status: undefined, bytes: 0, redirects: 0 };
  // A client of the origin the run is at, reused within the run: the response's end does not
  // tear the connection down (with its "reset" error); a redirect to another origin drops it for
  // a client of that one, and the run drops the last when it is over.
  const family = lookupFamily(spec.ipFamily);
  const at: { origin: string; client: Client | undefined } = { origin: '', client: undefined };
  const clientOf = (origin: string): Client => {
    if (at.client && at.origin === origin) return at.client;
    if (at.client) dropDispatcher(at.client);
    at.origin = origin;
    return (at.client = timedClient(origin, spec.tls, timeline, ctx.signal, family));
  };
  try {
    const response = await exchange(spec, ctx, clientOf, timeline, detail);
    if ('failure' in response) return { failure: response.failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks: [], detail };
    const checks = evaluate(spec, response, performance.now() - started);
    const failure = failureFromChecks(checks);
    return { failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail };
  } catch (error) {
    return { failure: explain(classifyError(causeOf(error, timeline), ctx.signal, stageOf(timeline)), timeline, detail, performance.now() - started), phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks: [], detail };
  } finally {
    if (at.client) dropDispatcher(at.client);
  }
}

/** Where in the exchange a timeout or a cut happened, in words: no connection, no response
 * headers, or headers received and the body stalled (or cut) after N of M bytes. */
function explain(failure: Failure, timeline: Timeline, detail: HttpDetail, elapsedMs: number): Failure {
  if (failure.code !== 'timeout' && failure.code !== 'closed') return failure;
  const after = formatDuration(elapsedMs);
  if (detail.status === undefined) {
    if (failure.code === 'closed') return { code: 'closed', message: `connection closed before the response headers: ${failure.message}` };
    // The run's deadline says nothing the words do not ("The operation was aborted due to
    // timeout"): a timeout's headline is where it stopped, and when.
    return timeline.connectedAt === undefined
      ? { code: 'timeout', message: `no connection after ${after} (DNS, connect or TLS did not finish)` }
      : { code: 'timeout', message: `no response headers after ${after}` };
  }
  const of = detail.expectedBytes === undefined ? '' : ` of ${detail.expectedBytes}`;
  const what = failure.code === 'timeout' ? `body stalled after ${detail.bytes}${of} bytes` : `body cut off after ${detail.bytes}${of} bytes`;
  return { code: failure.code, message: `headers received (status ${detail.status}), ${what}, ${after} in${failure.code === 'timeout' ? '' : `: ${failure.message}`}` };
}

interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends the request, follows redirects, reads the final body; a failure for what is not HTTP-level. */
async function exchange(
  spec: ProbeSpec<'http'>,
  ctx: ProbeContext,
  clientOf: (origin: string) => Dispatcher,
  timeline: Timeline,
  detail: HttpDetail,
): Promise<Response | { failure: Failure }> {
  let url = new URL(spec.url);
  let method: string = spec.method;
  let body = requestBody(spec);
  const headers = { ...spec.headers, ...(spec.json !== undefined ? { 'content-type': 'application/json' } : {}) };
  for (;;) {
    const sentAt = performance.now();
    const res = await send(clientOf(url.origin), { origin: url.origin, path: `${url.pathname}${url.search}`, method: method as Dispatcher.HttpMethod, headers, body }, ctx.signal, spec.maxBody, detail, (status, headers) => {
      timeline.phases.first_byte = performance.now() - Math.max(timeline.connectedAt ?? 0, sentAt);
      // A redirect's body is read and dropped (the connection serves the next hop).
      return !(spec.followRedirects && REDIRECTS.has(status) && typeof headers.location === 'string');
    });
    if (res.body === DROPPED) {
      if (detail.redirects >= spec.maxRedirects) {
        return { failure: { code: 'http_status', message: `redirect limit (${spec.maxRedirects}) exceeded; last status ${res.status}` } };
      }
      detail.redirects++;
      url = new URL(res.headers.location as string, url);
      if (res.status === 303) [method, body] = ['GET', undefined];
      continue;
    }
    timeline.phases.download = res.downloadMs;
    if (res.body === undefined) return { failure: { code: 'protocol', message: `response body larger than ${spec.maxBody} bytes` } };
    return { status: res.status, headers: res.headers, body: res.body };
  }
}

function requestBody(spec: ProbeSpec<'http'>): string | undefined {
  if (spec.json !== undefined) return JSON.stringify(spec.json);
  return spec.body;
}

/** A redirect's body, read and not kept. */
const DROPPED = Symbol('dropped');
/** What ends a body larger than the probe's cap: the response is abandoned, not drained. */
const OVER_CAP = Object.assign(new Error('response body over the cap'), { stack: 'response body over the cap' });

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text; undefined when it was larger than the cap; DROPPED when not wanted. */
  body: string | undefined | typeof DROPPED;
  downloadMs: number;
}

/** One request on the run's client, through undici's handler interface: the status and headers as
 * they arrive, the body counted into `detail` and kept up to `limit` bytes. No stream and no
 * async iterator per response: at 200 probes a second they were a measurable part of a run's cost
 * (docs/benchmarks.md). `keep` says, on the headers, whether the body is wanted. */
function send(
  client: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  limit: number,
  detail: HttpDetail,
  keep: (status: number, headers: IncomingHttpHeaders) => boolean,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let kept = true;
    let over = false;
    let received = 0;
    let started = 0;
    const chunks: Buffer[] = [];
    const onAbort = () => controller?.abort(signal.reason as Error);
    const settle = () => signal.removeEventListener('abort', onAbort);
    if (signal.aborted) return reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    client.dispatch(options, {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) c.abort(signal.reason as Error);
      },
      onResponseStart(_c, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
        started = performance.now();
        detail.status = statusCode;
        const length = Number(responseHeaders['content-length']);
        detail.expectedBytes = Number.isInteger(length) && length >= 0 ? length : undefined;
        kept = keep(statusCode, responseHeaders);
      },
      onResponseData(c, chunk) {
        received += chunk.length;
        if (kept) detail.bytes = received;
        if (received > limit) {
          over = true;
          return c.abort(OVER_CAP);
        }
        if (kept) chunks.push(chunk);
      },
      onResponseEnd() {
        settle();
        const text = !kept ? DROPPED : chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
        resolve({ status, headers, body: text, downloadMs: performance.now() - started });
      },
      onResponseError(_c, error) {
        settle();
        if (over) return resolve({ status, headers, body: undefined, downloadMs: performance.now() - started });
        reject(error);
      },
    });
  });
}

function evaluate(spec: ProbeSpec<'http'>, res: Response, elapsedMs: number): CheckResult[] {
  const { expect } = spec;
  const checks: CheckResult[] = [checkStatus(res.status, expect.status)];
  checks.push(...limitChecks([checkLimit('duration', elapsedMs, { fail: expect.maxDuration, degrade: spec.degradeWhen.maxDuration }, 'duration')]));
  if (expect.bodyContains !== undefined) checks.push(checkContains('body contains', res.body, expect.bodyContains));
  if (expect.bodyMatches !== undefined) checks.push(checkMatches('body matches', res.body, expect.bodyMatches));
  for (const [name, wanted] of Object.entries(expect.headers ?? {})) {
    const value = res.headers[name.toLowerCase()];
    const values = value === undefined ? [] : [Array.isArray(value) ? value.join(', ') : value];
    const ok = wanted.holds(values);
    const observed = values.length === 0 ? '(absent)' : wanted.observed(values);
    checks.push({ ...check(`header ${name}`, ok, wanted.describe(), observed), ...(ok ? {} : { headline: `header ${name} ${observed}, expected ${wanted.describe()}` }) });
  }
  if (expect.json !== undefined) checks.push(...jsonChecks(res.body, expect.json));
  return checks;
}

function jsonChecks(body: string, expectations: NonNullable<ProbeSpec<'http'>['expect']['json']>): CheckResult[] {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return [check('json', false, 'a JSON body', 'not JSON')];
  }
  return expectations.map((expectation) => checkJsonPath(document, expectation));
}

