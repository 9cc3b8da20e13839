// Flow prober: end to end through a pipeline. Watchers (SSE, WebSocket) open first and must be
// ready before anything is injected; then HTTP injections carrying a unique marker ({{run.id}}),
// awaits for the marker on each watcher, and polls of an HTTP API until it shows the marker.
// Every leg is timed from the injection; what arrives is compared with what was sent. One
// AbortSignal (the run's) bounds everything: when it fires, every watcher and step stops.
import { performance } from 'node:perf_hooks';
import type { JsonExpectation, JsonPath } from '../../config/fields.js';
import { request, type Dispatcher } from 'undici';
import type { FlowProbeSpec } from '../../config/schema.js';
import type { FlowStep, FlowWatcher } from './schema.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, checkStatus, limitChecks } from '../checks.js';
import { readEventStream, streamRefusal } from '../event-stream.js';
import { classifyError } from '../classify-error.js';
import { stageOf, timedAgent, type Timeline } from '../connect.js';
import { delay, Inbox, isFailure, matches, parseJson, renderValue, substitute, type Captured, type Vars } from '../messages.js';
import type { CheckResult, Failure, FlowDetail, ProbeContext, ProberOutcome } from '../types.js';
import { authFor, connectWebSocket } from '../ws-client.js';

interface Watch {
  name: string;
  inbox: Inbox;
  close(): void;
}

interface FlowState {
  vars: Vars & { captures: Record<string, Captured> };
  /** performance.now() when the first injection was sent: legs are timed from here. */
  injectedAt: number | undefined;
  /** What the first JSON injection sent, for the integrity comparison. */
  sent: unknown;
  detail: FlowDetail;
  checks: CheckResult[];
}

export async function probeFlow(spec: FlowProbeSpec, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const state: FlowState = {
    vars: { runId: ctx.runId, captures: {} },
    injectedAt: undefined,
    sent: undefined,
    detail: { kind: 'flow', legs: {}, totalMs: undefined, injected: false, unfinished: [], polls: 0 },
    checks: [],
  };
  const watches: Watch[] = [];
  try {
    const failure = (await openWatchers(spec, ctx, timeline, watches)) ?? (await runSteps(spec, ctx, watches, state));
    const legs = Object.values(state.detail.legs);
    if (state.injectedAt !== undefined && legs.length > 0) state.detail.totalMs = Math.max(...legs);
    if (failure) return { failure, phases: timeline.phases, checks: state.checks, detail: state.detail };
    state.checks.push(...latencyChecks(spec, state.detail));
    const failed = state.checks.find((c) => !c.ok);
    const result = failed ? { code: 'assertion' as const, message: `${failed.name}: expected ${failed.expected}, observed ${failed.observed}` } : undefined;
    return { failure: result, phases: timeline.phases, checks: state.checks, detail: state.detail };
  } finally {
    for (const watch of watches) watch.close();
  }
}

/** Opens every watcher at once and waits until each is ready; the first failure ends the run
 * before anything is injected. */
async function openWatchers(spec: FlowProbeSpec, ctx: ProbeContext, timeline: Timeline, watches: Watch[]): Promise<Failure | undefined> {
  const opened = await Promise.all(spec.watch.map((w, i) => openWatcher(w, spec, ctx, i === 0 ? timeline : { phases: {}, connectedAt: undefined })));
  let failure: Failure | undefined;
  opened.forEach((result, i) => {
    if ('failure' in result) failure ??= { code: result.failure.code, message: `watcher ${spec.watch[i]?.name}: ${result.failure.message} (nothing injected)` };
    else watches.push(result);
  });
  return failure;
}

async function openWatcher(watcher: FlowWatcher, spec: FlowProbeSpec, ctx: ProbeContext, timeline: Timeline): Promise<Watch | { failure: Failure }> {
  if ('sse' in watcher) return openSseWatch(watcher.name, watcher.sse, spec.maxPayload, ctx, timeline);
  const auth = await authFor(watcher.websocket);
  const opened = await connectWebSocket({ ...auth, tls: watcher.websocket.tls, maxPayload: spec.maxPayload }, ctx.signal, timeline.phases);
  if ('failure' in opened) return opened;
  const { conn } = opened;
  return { name: watcher.name, inbox: conn.inbox, close: () => void conn.shutdown() };
}

type SseTarget = Extract<FlowWatcher, { sse: unknown }>['sse'];

/** An SSE subscription whose events (their data) land in an Inbox; ready once headers say
 * it is an event stream. */
async function openSseWatch(name: string, target: SseTarget, maxPayload: number, ctx: ProbeContext, timeline: Timeline): Promise<Watch | { failure: Failure }> {
  const agent = timedAgent(target.tls, timeline, ctx.signal);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const close = () => {
    ctx.signal.removeEventListener('abort', onAbort);
    stop.abort();
    agent.close().catch(() => undefined);
  };
  let res: Dispatcher.ResponseData;
  try {
    res = await request(target.url, { dispatcher: agent, headers: { accept: 'text/event-stream', ...target.headers }, signal: stop.signal });
  } catch (error) {
    close();
    return { failure: classifyError(error, ctx.signal, stageOf(timeline)) };
  }
  // The same rules as the SSE prober's (status 200, content type, strict UTF-8, capped events).
  const refused = streamRefusal(res, ['200']);
  if (refused) {
    res.body.destroy();
    close();
    return { failure: refused };
  }
  const inbox = new Inbox();
  void pump(res.body, inbox, maxPayload, ctx.signal, stop.signal);
  return { name, inbox, close };
}

async function pump(body: Dispatcher.ResponseData['body'], inbox: Inbox, maxPayload: number, signal: AbortSignal, stopped: AbortSignal): Promise<void> {
  let broken = false;
  try {
    await readEventStream(body, maxPayload, {
      onEvent: (event) => inbox.push(event.data),
      onBroken: (failure) => {
        broken = true;
        inbox.fail(failure);
      },
    });
    if (broken) body.destroy();
    else inbox.fail({ code: 'closed', message: 'the stream ended' });
  } catch (error) {
    if (!stopped.aborted) inbox.fail(classifyError(error, signal, 'exchange'));
  }
}

async function runSteps(spec: FlowProbeSpec, ctx: ProbeContext, watches: Watch[], state: FlowState): Promise<Failure | undefined> {
  const labels = spec.steps.map(stepLabel);
  for (const [index, step] of spec.steps.entries()) {
    const failure = await runStep(step, spec, ctx, watches, state);
    if (failure) {
      state.detail.unfinished = labels.slice(index);
      return failure;
    }
  }
  return undefined;
}

function stepLabel(step: FlowStep): string {
  if ('inject' in step) return `inject ${step.inject.method} ${new URL(step.inject.url).pathname}`;
  if ('await' in step) return `await ${step.await.on}`;
  return `poll ${step.poll.name}`;
}

function runStep(step: FlowStep, spec: FlowProbeSpec, ctx: ProbeContext, watches: Watch[], state: FlowState): Promise<Failure | undefined> {
  if ('inject' in step) return inject(step.inject, ctx, state);
  if ('await' in step) return awaitMarker(step.await, spec, ctx, watches, state);
  return poll(step.poll, spec, ctx, state);
}

type InjectStep = Extract<FlowStep, { inject: unknown }>['inject'];

async function inject(step: InjectStep, ctx: ProbeContext, state: FlowState): Promise<Failure | undefined> {
  const json = step.json === undefined ? undefined : renderValue(step.json, state.vars);
  const body = json !== undefined ? JSON.stringify(json) : step.body === undefined ? undefined : substitute(step.body, state.vars);
  const headers = { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...step.headers };
  const sentAt = performance.now();
  state.injectedAt ??= sentAt;
  if (state.sent === undefined && json !== undefined) state.sent = json;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(substitute(step.url, state.vars), { method: step.method, headers, body, signal: ctx.signal });
  } catch (error) {
    return prefix('inject', classifyError(error, ctx.signal, 'exchange'));
  }
  const text = await res.body.text().catch(() => '');
  state.detail.injected = true;
  const status = checkStatus(res.statusCode, step.expect.status);
  state.checks.push({ ...status, name: 'inject status' });
  if (!status.ok) return { code: 'http_status', message: `inject: status expected ${status.expected}, observed ${status.observed}` };
  for (const [name, path] of Object.entries(step.capture ?? {})) {
    const found = path.select(parseJson(text))[0];
    if (found === undefined || (found !== null && typeof found === 'object')) return { code: 'assertion', message: `inject: capture ${name}: no value at ${path.source} in the response` };
    state.vars.captures[name] = found as Captured;
  }
  return undefined;
}

type AwaitStep = Extract<FlowStep, { await: unknown }>['await'];

async function awaitMarker(step: AwaitStep, spec: FlowProbeSpec, ctx: ProbeContext, watches: Watch[], state: FlowState): Promise<Failure | undefined> {
  const watch = watches.find((w) => w.name === step.on) as Watch;
  const got = await watch.inbox.until((text) => matches(text, step.match, state.vars), remaining(step.within, state), ctx.signal, `leg ${step.on}`);
  if (isFailure(got)) return got.code === 'timeout' ? { code: 'timeout', message: `leg ${step.on}: marker not seen within ${formatDuration(step.within)} of the injection` } : prefix(`watcher ${step.on}`, got);
  state.detail.legs[step.on] = got.at - (state.injectedAt ?? got.at);
  return integrity(step.on, parseJson(got.text), firstPath(step.match.json), spec, state);
}

type PollStep = Extract<FlowStep, { poll: unknown }>['poll'];

async function poll(step: PollStep, spec: FlowProbeSpec, ctx: ProbeContext, state: FlowState): Promise<Failure | undefined> {
  const deadline = (state.injectedAt ?? performance.now()) + step.within;
  let last = 'no response';
  for (;;) {
    state.detail.polls++;
    try {
      const res = await request(substitute(step.url, state.vars), { headers: step.headers, signal: ctx.signal });
      const text = await res.body.text();
      last = `status ${res.statusCode}`;
      const document = parseJson(text);
      const shown = res.statusCode === 200 && step.until.every(({ path, value }) => path.select(document).some((v) => v === renderValue(value, state.vars)));
      if (shown) {
        state.detail.legs[step.name] = performance.now() - (state.injectedAt ?? performance.now());
        return integrity(step.name, document, step.until[0]?.path, spec, state, renderValue(step.until[0]?.value, state.vars));
      }
    } catch (error) {
      if (ctx.signal.aborted) return classifyError(error, ctx.signal, 'exchange');
      last = classifyError(error, ctx.signal, 'exchange').message;
    }
    const left = deadline - performance.now();
    if (left <= 0) return { code: 'timeout', message: `leg ${step.name}: marker not shown within ${formatDuration(step.within)} of the injection (${state.detail.polls} polls, last ${last})` };
    await delay(Math.min(step.every, left), ctx.signal);
  }
}

function remaining(within: number, state: FlowState): number {
  return state.injectedAt === undefined ? within : Math.max(0, state.injectedAt + within - performance.now());
}

function firstPath(json: readonly JsonExpectation[] | undefined): JsonPath | undefined {
  return json?.[0]?.path;
}

/** Compares what arrived at a hop with what was injected: the object holding the marker must
 * carry every field that was sent, with the same value. */
function integrity(hop: string, document: unknown, markerPath: JsonPath | undefined, spec: FlowProbeSpec, state: FlowState, markerValue?: unknown): Failure | undefined {
  if (!spec.expect.integrity || markerPath === undefined || !isObject(state.sent) || !isObject(document)) return undefined;
  const holders = markerPath.parents(document);
  const values = markerPath.select(document);
  const wanted = markerValue ?? state.vars.runId;
  const holder = holders[values.findIndex((v) => v === wanted)] ?? holders[0];
  const difference = differs(state.sent, holder, '$');
  state.checks.push(check(`integrity ${hop}`, difference === undefined, 'the injected payload', difference ?? 'identical'));
  return difference === undefined ? undefined : { code: 'assertion', message: `payload differs at hop ${hop}: ${difference}` };
}

/** The first field of `sent` that `seen` lacks or changed, as "$.path expected X, observed Y". */
function differs(sent: unknown, seen: unknown, path: string): string | undefined {
  if (isObject(sent)) {
    for (const [key, value] of Object.entries(sent)) {
      const found = differs(value, isObject(seen) ? seen[key] : undefined, `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  }
  return JSON.stringify(sent) === JSON.stringify(seen) ? undefined : `${path} expected ${JSON.stringify(sent)}, observed ${seen === undefined ? 'nothing' : JSON.stringify(seen)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function latencyChecks(spec: FlowProbeSpec, detail: FlowDetail): CheckResult[] {
  const checks: CheckResult[] = [];
  const fail = spec.expect.legs ?? {};
  const soft = spec.degradeWhen.legs ?? {};
  for (const leg of new Set([...Object.keys(fail), ...Object.keys(soft)])) {
    const observed = detail.legs[leg];
    const result = checkLimit(`leg ${leg}`, observed, { fail: fail[leg], degrade: soft[leg] }, 'duration');
    if (result) checks.push(observed === undefined ? { ...result, observed: 'not reached' } : result);
  }
  if (detail.totalMs !== undefined) checks.push(...limitChecks([checkLimit('total', detail.totalMs, { fail: spec.expect.total, degrade: spec.degradeWhen.total }, 'duration')]));
  return checks;
}

function prefix(what: string, failure: Failure): Failure {
  return { code: failure.code, message: `${what}: ${failure.message}` };
}
