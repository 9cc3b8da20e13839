// HTTP prober: one fresh connection per run (so dns/connect/tls are measured, as blackbox does),
// redirects followed by hand, the body read under a size cap, every expectation checked.
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
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
import { causeOf, dropAgent, stageOf, timedAgent, type Timeline } from '../connect.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { HttpDetail } from './kind.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);


export async function probeHttp(spec: ProbeSpec<'http'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const started = performance.now();
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const detail: HttpDetail = { kind: 'http', status: undefined, bytes: 0, redirects: 0 };
  // Reused within the run: the response's end does not tear the connection down (with its
  // "reset" error); the run drops it when it is over.
  const agent = timedAgent(spec.tls, timeline, ctx.signal, { reuse: true, family: lookupFamily(spec.ipFamily) });
  try {
    const response = await exchange(spec, ctx, agent, timeline, detail);
    if ('failure' in response) return { failure: response.failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks: [], detail };
    const checks = evaluate(spec, response, performance.now() - started);
    const failure = failureFromChecks(checks);
    return { failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail };
  } catch (error) {
    return { failure: explain(classifyError(causeOf(error, timeline), ctx.signal, stageOf(timeline)), timeline, detail, performance.now() - started), phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks: [], detail };
  } finally {
    dropAgent(agent);
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
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends the request, follows redirects, reads the final body; a failure for what is not HTTP-level. */
async function exchange(
  spec: ProbeSpec<'http'>,
  ctx: ProbeContext,
  agent: Dispatcher,
  timeline: Timeline,
  detail: HttpDetail,
): Promise<Response | { failure: Failure }> {
  let url = new URL(spec.url);
  let method: string = spec.method;
  let body = requestBody(spec);
  const headers = { ...spec.headers, ...(spec.json !== undefined ? { 'content-type': 'application/json' } : {}) };
  for (;;) {
    const sentAt = performance.now();
    const res = await request(url, { dispatcher: agent, method: method as Dispatcher.HttpMethod, headers, body, signal: ctx.signal });
    timeline.phases.first_byte = performance.now() - Math.max(timeline.connectedAt ?? 0, sentAt);
    detail.status = res.statusCode;
    const length = Number(res.headers['content-length']);
    detail.expectedBytes = Number.isInteger(length) && length >= 0 ? length : undefined;
    const location = res.headers.location;
    if (spec.followRedirects && REDIRECTS.has(res.statusCode) && typeof location === 'string') {
      await res.body.dump();
      if (detail.redirects >= spec.maxRedirects) {
        return { failure: { code: 'http_status', message: `redirect limit (${spec.maxRedirects}) exceeded; last status ${res.statusCode}` } };
      }
      detail.redirects++;
      url = new URL(location, url);
      if (res.statusCode === 303) [method, body] = ['GET', undefined];
      continue;
    }
    const downloadStart = performance.now();
    const text = await readCapped(res.body, spec.maxBody, detail);
    timeline.phases.download = performance.now() - downloadStart;
    if (text === undefined) return { failure: { code: 'protocol', message: `response body larger than ${spec.maxBody} bytes` } };
    return { status: res.statusCode, headers: res.headers, body: text };
  }
}

function requestBody(spec: ProbeSpec<'http'>): string | undefined {
  if (spec.json !== undefined) return JSON.stringify(spec.json);
  return spec.body;
}

/** The body as text, or undefined when it exceeds `limit` (the stream is destroyed, not drained). */
async function readCapped(body: Dispatcher.ResponseData['body'], limit: number, detail: HttpDetail): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) {
    detail.bytes += chunk.length;
    if (detail.bytes > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
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

