// Flow prober: end to end through a pipeline. Watchers (SSE, WebSocket, MQTT) open first and must be
// ready before anything is injected; then HTTP injections carrying a unique marker ({{run.id}}),
// awaits for the marker on each watcher, and polls of an HTTP API until it shows the marker.
// Every leg is timed from the injection; what arrives is compared with what was sent. One
// AbortSignal (the run's) bounds everything: when it fires, every watcher and step stops.
import { performance } from 'node:perf_hooks';
import type { JsonExpectation, JsonScalar } from '../../config/assertions.js';
import type { JsonPath } from '../../config/fields.js';
import { request, type Dispatcher } from 'undici';
import type { ProbeSpec } from '../../config/schema.js';
import type { Page } from 'playwright-core';
import type { BrowserStep, FlowStep, FlowWatcher } from './schema.js';
import { browserFailure } from '../chromium.js';
import { pageLimitChecks, runActions, screenshotOf, untilAborted, watchPage, type ActionFailed, type BrowserPageReport } from '../browser-page.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, checkStatus, failureFromChecks, limitChecks } from '../checks.js';
import { readEventStream, streamRefusal } from '../event-stream.js';
import { classifyError } from '../classify-error.js';
import { stageOf, timedAgent, type Timeline } from '../connect.js';
import { delay, Inbox, isFailure, matches, parseJson, renderValue, substitute, type Captured, type Vars } from '../messages.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { FlowDetail } from './kind.js';
import { openMqtt } from '../mqtt-client.js';
import { authFor, connectWebSocket } from '../ws-client.js';

interface Watch {
  name: string;
  inbox: Inbox;
  close(): void;
}

/** A browser step's page, opened (and its actions done) before anything is injected. */
interface PageWatch {
  step: BrowserStep;
  page: Page;
  report: BrowserPageReport;
  close(): Promise<void>;
}

interface FlowState {
  vars: Vars & { captures: Record<string, Captured> };
  /** performance.now() when the first injection was sent… */
  injectedAt: number | undefined;
  /** …and when it was accepted (its response came): downstream legs are timed from here. */
  acceptedAt: number | undefined;
  /** What the first JSON injection sent, for the integrity comparison. */
  sent: unknown;
  detail: FlowDetail;
  checks: CheckResult[];
}

export async function probeFlow(spec: ProbeSpec<'flow'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const state: FlowState = {
    vars: { runId: ctx.runId, captures: {} },
    injectedAt: undefined,
    acceptedAt: undefined,
    sent: undefined,
    detail: { kind: 'flow', legs: {}, legsFromSend: {}, totalMs: undefined, injected: false, unfinished: [], polls: 0 },
    checks: [],
  };
  const watches: Watch[] = [];
  const pages: PageWatch[] = [];
  const deadline = performance.now() + spec.timeoutMs;
  try {
    const failure = (await openWatchers(spec, ctx, timeline, watches)) ?? (await openPages(spec, ctx, state, pages, deadline)) ?? (await runSteps(spec, ctx, watches, state, pages));
    // An end-to-end time only for a flow that reached its end: a failed one has none to show.
    if (failure) {
      const checks = [...state.checks, ...latencyChecks(spec, state.detail)];
      await keepScreenshots(pages, ctx, spec, state, checks, true);
      return { failure, phases: timeline.phases, tls: timeline.tls, checks, detail: state.detail };
    }
    state.detail.totalMs = maxOf(Object.values(state.detail.legsFromSend));
    state.checks.push(...latencyChecks(spec, state.detail));
    const failed = failureFromChecks(state.checks);
    await keepScreenshots(pages, ctx, spec, state, state.checks, failed !== undefined);
    return { failure: failed, phases: timeline.phases, tls: timeline.tls, checks: state.checks, detail: state.detail };
  } finally {
    for (const watch of watches) watch.close();
    await Promise.all(pages.map((p) => p.close()));
  }
}

/** Opens each browser step's page before anything is injected (like a watcher, so its leg is
 * delivery and render, not page load), loads it, and does its actions as a user would. */
async function openPages(spec: ProbeSpec<'flow'>, ctx: ProbeContext, state: FlowState, pages: PageWatch[], deadline: number): Promise<Failure | undefined> {
  const steps = spec.steps.flatMap((s) => ('browser' in s ? [s.browser] : []));
  if (steps.length === 0) return undefined;
  const chromium = ctx.browser?.();
  if (!chromium) return { code: 'browser', message: 'browser steps need the daemon\'s shared Chromium (they run in the daemon and in flowprobe probe)' };
  for (const step of steps) {
    const url = substitute(step.url, state.vars);
    const cookies = step.cookies && Object.entries(step.cookies).map(([name, value]) => ({ name, value, url }));
    const opened = await chromium.page(ctx.signal, { headers: step.headers, cookies });
    if ('failure' in opened) return prefix(`browser ${step.name}`, opened.failure);
    const { page } = opened;
    const report = watchPage(page, url, ctx.redact);
    pages.push({ step, page, report, close: opened.close });
    (state.detail.pages ??= {})[step.name] = report;
    const left = () => Math.max(1, Math.ceil(deadline - performance.now()));
    const loading = performance.now();
    try {
      await untilAborted(page.goto(url, { waitUntil: 'load', timeout: left() }), ctx.signal);
    } catch (error) {
      return prefix(`browser ${step.name}`, browserFailure(error, `loaded ${ctx.redact(url)}`));
    }
    report.loadMs = performance.now() - loading;
    try {
      await runActions(page, step.actions, left, ctx.signal, (value) => substitute(value, state.vars));
    } catch (error) {
      return prefix(`browser ${step.name}: ${(error as ActionFailed).message}`, browserFailure((error as ActionFailed).cause, 'did it'));
    }
    if (step.ready !== undefined) {
      try {
        await untilAborted(page.locator(step.ready).first().waitFor({ state: 'visible', timeout: left() }), ctx.signal);
      } catch (error) {
        const failure = browserFailure(error, `waited for ${step.ready}`);
        return failure.code === 'timeout' ? { code: 'timeout', message: `browser ${step.name}: the page never got ready (${step.ready} not visible before the deadline; nothing injected)` } : prefix(`browser ${step.name}`, failure);
      }
    }
  }
  return undefined;
}

/** Waits for the marker to be visible on the page; its leg ends there. Then what the element
 * shows is compared with what was sent, and the page's own figures are checked. */
async function awaitPage(step: BrowserStep, spec: ProbeSpec<'flow'>, ctx: ProbeContext, pages: PageWatch[], state: FlowState): Promise<Failure | undefined> {
  const { page, report } = pages.find((p) => p.step === step) as PageWatch;
  const text = substitute(step.waitFor.text, state.vars);
  const marker = page.locator(step.waitFor.selector).filter({ hasText: text }).first();
  try {
    await untilAborted(marker.waitFor({ state: 'visible', timeout: Math.max(1, Math.ceil(remaining(step.within, state))) }), ctx.signal);
  } catch (error) {
    const failure = browserFailure(error, `waited for ${step.waitFor.selector}`);
    if (failure.code !== 'timeout') {
      missed(step.name, step.within, spec, state, failure.message);
      return prefix(`leg ${step.name}`, failure);
    }
    missed(step.name, step.within, spec, state, `not visible in ${formatDuration(waitedSince(state))}`);
    // The API the page reads from had it: the page itself is what is stale.
    const apiShowed = spec.steps.some((s) => 'poll' in s && state.detail.legs[s.poll.name] !== undefined);
    const what = apiShowed ? ', though the API showed it: the page is stale' : ` (${step.waitFor.selector} showing ${JSON.stringify(ctx.redact(text)).slice(0, 80)})`;
    return { code: 'timeout', message: `leg ${step.name}: marker not visible on the page within ${formatDuration(step.within)} of the injection${what}` };
  }
  arrived(step.name, performance.now(), state);
  let failure: Failure | undefined;
  for (const [selector, want] of Object.entries(step.expect.text ?? {})) {
    const expected = substitute(want, state.vars);
    const shown = await marker.locator(selector).first().textContent({ timeout: 1_000 }).catch(() => null);
    const ok = shown !== null && shown.includes(expected);
    state.checks.push(check(`text ${selector} at ${step.name}`, ok, `contains ${JSON.stringify(expected)}`, shown === null ? 'no such element in the marker\'s' : JSON.stringify(shown.trim().slice(0, 200))));
    failure ??= ok ? undefined : { code: 'assertion', message: `the page shows ${shown === null ? 'nothing' : JSON.stringify(shown.trim().slice(0, 80))} at ${selector} where ${JSON.stringify(expected)} was sent (leg ${step.name})` };
  }
  return failure ?? pageChecks(step, report, state);
}

/** The page's figures beside their limits: load time, console errors, failed requests. */
function pageChecks(step: BrowserStep, report: BrowserPageReport, state: FlowState): Failure | undefined {
  const checks = pageLimitChecks(step.name, report, step.expect);
  state.checks.push(...checks);
  return failureFromChecks(checks);
}

/** A failed or degraded run keeps one screenshot of each page it had open (the probe's newest
 * replaces the last), capped in size. */
async function keepScreenshots(pages: PageWatch[], ctx: ProbeContext, spec: ProbeSpec<'flow'>, state: FlowState, checks: CheckResult[], failed: boolean): Promise<void> {
  if (!ctx.screenshot || pages.length === 0 || (!failed && !checks.some((c) => c.degraded))) return;
  for (const { page, step, report } of pages) {
    const jpeg = await screenshotOf(page);
    if (!jpeg) continue;
    ctx.screenshot({ probe: spec.name, runId: ctx.runId, leg: step.name, at: Date.now(), jpeg });
    report.screenshot = true;
    state.detail.pages = { ...state.detail.pages, [step.name]: report };
    return;
  }
}

/** Opens every watcher at once and waits until each is ready; the first failure ends the run
 * before anything is injected. */
async function openWatchers(spec: ProbeSpec<'flow'>, ctx: ProbeContext, timeline: Timeline, watches: Watch[]): Promise<Failure | undefined> {
  const opened = await Promise.all(spec.watch.map((w, i) => openWatcher(w, spec, ctx, i === 0 ? timeline : { phases: {}, connectedAt: undefined })));
  let failure: Failure | undefined;
  opened.forEach((result, i) => {
    if ('failure' in result) failure ??= { code: result.failure.code, message: `watcher ${spec.watch[i]?.name}: ${result.failure.message} (nothing injected)` };
    else watches.push(result);
  });
  return failure;
}

async function openWatcher(watcher: FlowWatcher, spec: ProbeSpec<'flow'>, ctx: ProbeContext, timeline: Timeline): Promise<Watch | { failure: Failure }> {
  if ('sse' in watcher) return openSseWatch(watcher.name, watcher.sse, spec.maxPayload, ctx, timeline);
  if ('mqtt' in watcher) return openMqttWatch(watcher.name, watcher.mqtt, spec, ctx, timeline);
  const auth = await authFor(watcher.websocket);
  const opened = await connectWebSocket({ ...auth, tls: watcher.websocket.tls, maxPayload: spec.maxPayload }, ctx.signal, timeline.phases, timeline);
  if ('failure' in opened) return opened;
  const { conn } = opened;
  return { name: watcher.name, inbox: conn.inbox, close: () => void conn.shutdown() };
}

/** An MQTT subscription whose live messages land in an Inbox; ready once the broker granted it.
 * Retained messages are skipped: a marker that "arrives" from the broker's memory is not one. */
async function openMqttWatch(name: string, target: Extract<FlowWatcher, { mqtt: unknown }>['mqtt'], spec: ProbeSpec<'flow'>, ctx: ProbeContext, timeline: Timeline): Promise<Watch | { failure: Failure }> {
  const inbox = new Inbox();
  const opened = await openMqtt(target, timeline, ctx.signal, spec.timeoutMs, {
    onMessage: (topic, payload, retained) => {
      if (retained) return;
      if (payload.length > spec.maxPayload) return inbox.fail({ code: 'protocol', message: `a message on ${topic} of ${payload.length} B, over maxPayload` });
      inbox.push(payload.toString('utf8'));
    },
    onBroken: (failure) => inbox.fail(failure),
  });
  if ('failure' in opened) return opened;
  return { name, inbox, close: opened.close };
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

/** Injections run in order; the awaits and polls after one wait for it side by side (each is
 * its own hop), so one hop's wait is never counted in another's leg, and when one hop fails the
 * others are still measured and named in the headline. */
async function runSteps(spec: ProbeSpec<'flow'>, ctx: ProbeContext, watches: Watch[], state: FlowState, pages: PageWatch[]): Promise<Failure | undefined> {
  const labels = spec.steps.map(stepLabel);
  for (let index = 0; index < spec.steps.length; ) {
    const step = spec.steps[index] as FlowStep;
    if ('inject' in step) {
      const failure = await inject(step.inject, spec, ctx, state);
      if (failure) return (state.detail.unfinished = labels.slice(index)), failure;
      index++;
      continue;
    }
    let end = index;
    while (end < spec.steps.length && !('inject' in (spec.steps[end] as FlowStep))) end++;
    const outcomes = await waitForHops(spec.steps.slice(index, end), spec, ctx, watches, state, pages);
    const failedAt = outcomes.findIndex((f) => f !== undefined);
    if (failedAt >= 0) {
      // Unfinished: the hops whose marker never came, and every step after them. A hop whose
      // marker arrived has its leg, even when what arrived failed a check (integrity).
      const missed = spec.steps.slice(index, end).map((step, i) => ({ label: labels[index + i] as string, arrived: state.detail.legs[hopOf(step)] !== undefined, failed: outcomes[i] !== undefined }));
      state.detail.unfinished = [...missed.filter((h) => h.failed && !h.arrived).map((h) => h.label), ...labels.slice(end)];
      return withOtherHops(outcomes[failedAt] as Failure, hopOf(spec.steps[index + failedAt] as FlowStep), state);
    }
    index = end;
  }
  return undefined;
}

/** One chain per watcher (awaits on one watcher share its inbox, so they take turns), one per
 * poll; the chains run at once. Outcomes in step order. */
async function waitForHops(steps: FlowStep[], spec: ProbeSpec<'flow'>, ctx: ProbeContext, watches: Watch[], state: FlowState, pages: PageWatch[]): Promise<Array<Failure | undefined>> {
  const outcomes: Array<Failure | undefined> = steps.map(() => undefined);
  const chains = new Map<string, number[]>();
  steps.forEach((step, i) => {
    const key = 'await' in step ? `await:${step.await.on}` : `poll:${i}`;
    chains.set(key, [...(chains.get(key) ?? []), i]);
  });
  const before = state.checks.length;
  await Promise.all(
    [...chains.values()].map(async (chain) => {
      for (const i of chain) {
        const step = steps[i] as FlowStep;
        outcomes[i] = 'await' in step ? await awaitMarker(step.await, spec, ctx, watches, state) : 'poll' in step ? await poll(step.poll, spec, ctx, state) : 'browser' in step ? await awaitPage(step.browser, spec, ctx, pages, state) : undefined;
        if (outcomes[i]) return;
      }
    }),
  );
  // Checks in step order, whichever hop answered first.
  const order = steps.map(hopOf);
  const hop = (c: CheckResult) => order.indexOf(c.name.replace(/^(integrity|leg) /, '').replace(/^.* at /, ''));
  const added = state.checks.splice(before).sort((a, b) => hop(a) - hop(b));
  state.checks.push(...added);
  return outcomes;
}

function hopOf(step: FlowStep): string {
  return 'await' in step ? step.await.on : 'poll' in step ? step.poll.name : 'browser' in step ? step.browser.name : 'inject';
}

/** "…; other hops: inject 3ms, alerts 4ms, dashboard 120ms" — what the rest of the flow did. */
function withOtherHops(failure: Failure, hop: string, state: FlowState): Failure {
  const others = Object.entries(state.detail.legs).filter(([leg]) => leg !== hop);
  if (others.length === 0) return failure;
  return { code: failure.code, message: `${failure.message} (${others.map(([leg, v]) => `${leg} ${formatDuration(v)}`).join(', ')})` };
}

function stepLabel(step: FlowStep): string {
  if ('inject' in step) return `inject ${step.inject.method} ${new URL(step.inject.url).pathname}`;
  if ('await' in step) return `await ${step.await.on}`;
  if ('browser' in step) return `browser ${step.browser.name}`;
  return `poll ${step.poll.name}`;
}

type InjectStep = Extract<FlowStep, { inject: unknown }>['inject'];

async function inject(step: InjectStep, spec: ProbeSpec<'flow'>, ctx: ProbeContext, state: FlowState): Promise<Failure | undefined> {
  const json = step.json === undefined ? undefined : renderValue(step.json, state.vars);
  const body = json !== undefined ? JSON.stringify(json) : step.body === undefined ? undefined : substitute(step.body, state.vars);
  const headers = { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...step.headers };
  const sentAt = performance.now();
  const first = state.injectedAt === undefined;
  state.injectedAt ??= sentAt;
  if (state.sent === undefined && json !== undefined) state.sent = json;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(substitute(step.url, state.vars), { method: step.method, headers, body, signal: ctx.signal });
  } catch (error) {
    return prefix('inject', classifyError(error, ctx.signal, 'exchange'));
  }
  const acceptedAt = performance.now();
  if (first) {
    state.acceptedAt = acceptedAt;
    state.detail.legs.inject = acceptedAt - sentAt;
    state.detail.legsFromSend.inject = acceptedAt - sentAt;
  }
  const text = await readText(res.body, spec.maxPayload);
  state.detail.injected = true;
  if (text === undefined) return { code: 'protocol', message: `inject: response body larger than maxPayload (${spec.maxPayload} bytes)` };
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

async function awaitMarker(step: AwaitStep, spec: ProbeSpec<'flow'>, ctx: ProbeContext, watches: Watch[], state: FlowState): Promise<Failure | undefined> {
  const watch = watches.find((w) => w.name === step.on) as Watch;
  const got = await watch.inbox.until((text) => matches(text, step.match, state.vars), remaining(step.within, state), ctx.signal, `leg ${step.on}`);
  if (isFailure(got)) {
    const failure = got.code === 'timeout' ? { code: got.code, message: `leg ${step.on}: marker not seen within ${formatDuration(step.within)} of the injection` } : prefix(`watcher ${step.on}`, got);
    missed(step.on, step.within, spec, state, got.code === 'timeout' ? `not seen in ${formatDuration(waitedSince(state))}` : `watcher failed: ${got.message}`);
    return failure;
  }
  arrived(step.on, got.at, state);
  return integrity(step.on, parseJson(got.text), firstPath(step.match.json), spec, state);
}

type PollStep = Extract<FlowStep, { poll: unknown }>['poll'];

async function poll(step: PollStep, spec: ProbeSpec<'flow'>, ctx: ProbeContext, state: FlowState): Promise<Failure | undefined> {
  const deadline = (state.acceptedAt ?? performance.now()) + step.within;
  let last = 'no response';
  for (;;) {
    state.detail.polls++;
    try {
      const res = await request(substitute(step.url, state.vars), { headers: step.headers, signal: ctx.signal });
      const text = await readText(res.body, spec.maxPayload);
      last = text === undefined ? `status ${res.statusCode}, body over maxPayload` : `status ${res.statusCode}`;
      const document = text === undefined ? undefined : parseJson(text);
      const shown = res.statusCode === 200 && step.until.every(({ path, assertion }) => assertion.holds(path.select(document), (v) => renderValue(v, state.vars) as JsonScalar));
      if (shown) {
        arrived(step.name, performance.now(), state);
        return integrity(step.name, document, step.until[0]?.path, spec, state, renderValue(step.until[0]?.assertion.equals, state.vars));
      }
    } catch (error) {
      if (ctx.signal.aborted) return classifyError(error, ctx.signal, 'exchange');
      last = classifyError(error, ctx.signal, 'exchange').message;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      missed(step.name, step.within, spec, state, `not shown in ${formatDuration(waitedSince(state))} (${state.detail.polls} polls, last ${last})`);
      return { code: 'timeout', message: `leg ${step.name}: marker not shown within ${formatDuration(step.within)} of the injection (${state.detail.polls} polls, last ${last})` };
    }
    await delay(Math.min(step.every, left), ctx.signal);
  }
}

/** A hop whose marker never came: a failed check of its own (first in the table, with the
 * limit it missed), and how long it waited, for the waterfall. */
function missed(leg: string, within: number, spec: ProbeSpec<'flow'>, state: FlowState, observed: string): void {
  const limit = spec.expect.legs?.[leg];
  const expected = limit !== undefined && limit < within ? `<= ${formatDuration(limit)}` : `marker within ${formatDuration(within)}`;
  state.checks.push(check(`leg ${leg}`, false, expected, observed));
  state.detail.waited = { ...state.detail.waited, [leg]: waitedSince(state) };
}

function waitedSince(state: FlowState): number {
  return state.acceptedAt === undefined ? 0 : performance.now() - state.acceptedAt;
}

function maxOf(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => Math.max(a, b));
}

/** A hop's wait ends `within` after the injection was accepted. */
function remaining(within: number, state: FlowState): number {
  return state.acceptedAt === undefined ? within : Math.max(0, state.acceptedAt + within - performance.now());
}

/** The marker reached `leg` at `at`: timed from the acceptance (never below 0 — a fast
 * pipeline can deliver before the response is back) and from the send. */
function arrived(leg: string, at: number, state: FlowState): void {
  state.detail.legs[leg] = Math.max(0, at - (state.acceptedAt ?? at));
  state.detail.legsFromSend[leg] = at - (state.injectedAt ?? at);
}

/** A response body as text, or undefined past `limit` bytes (the rest is not read). */
async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
  } catch {
    // A body cut short is judged by what arrived.
  }
  return Buffer.concat(chunks).toString('utf8');
}

function firstPath(json: readonly JsonExpectation[] | undefined): JsonPath | undefined {
  return json?.[0]?.path;
}

/** Compares what arrived at a hop with what was injected: the object holding the marker must
 * carry every field that was sent, with the same value. */
function integrity(hop: string, document: unknown, markerPath: JsonPath | undefined, spec: ProbeSpec<'flow'>, state: FlowState, markerValue?: unknown): Failure | undefined {
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

/** A row per hop that arrived, with its figure (against its limits when it has any), and the
 * total; a hop that never arrived already has its failed row (missed). */
function latencyChecks(spec: ProbeSpec<'flow'>, detail: FlowDetail): CheckResult[] {
  const fail = spec.expect.legs ?? {};
  const soft = spec.degradeWhen.legs ?? {};
  // A leg or the total over its fail limit reads as the hop named with observed vs limit, and
  // what the other hops took.
  const overLimit = (c: CheckResult | undefined, limit: number | undefined, leg?: string): CheckResult | undefined => {
    if (!c || c.ok || limit === undefined) return c;
    const others = Object.entries(detail.legs).filter(([name]) => name !== leg).map(([name, v]) => `${name} ${formatDuration(v)}`);
    return { ...c, headline: `${c.name} ${c.observed} > ${formatDuration(limit)}${others.length ? ` (${others.join(', ')})` : ''}` };
  };
  const checks = Object.entries(detail.legs).map(([leg, observed]) => overLimit(checkLimit(`leg ${leg}`, observed, { fail: fail[leg], degrade: soft[leg] }, 'duration'), fail[leg], leg) ?? check(`leg ${leg}`, true, leg === 'inject' ? 'accepted' : 'arrived', formatDuration(observed)));
  if (detail.totalMs !== undefined) checks.push(...limitChecks([overLimit(checkLimit('total', detail.totalMs, { fail: spec.expect.total, degrade: spec.degradeWhen.total }, 'duration'), spec.expect.total)]));
  return checks;
}

function prefix(what: string, failure: Failure): Failure {
  return { code: failure.code, message: `${what}: ${failure.message}` };
}
