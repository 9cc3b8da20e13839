// Every metric flowprobe exports: the daemon's, the probes' common ones, and each kind's own,
// made by its module (probers/<kind>/kind.ts) in the same registry. Base units, `_total` only on
// counters, low-cardinality labels (probe, kind, phase, result, reason) — never URLs, messages or
// run ids.
// Point-in-time values are read at scrape time through collect().
import { readdirSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProbeKind } from '../config/schema.js';
import type { ResourceTransition } from '../detect/budget.js';
import type { Health, Transition } from '../detect/probe-state.js';
import { KINDS, kindOf } from '../probers/kinds.js';
import { PHASE_NAMES, type Phases, type ProbeDetail, type ProbeResult } from '../probers/types.js';
import { watchLoopDelay } from '../resources/loop-delay.js';
import { RecentQuantiles, RUNS_KEPT } from './recent-quantiles.js';
import type { ProcessReading } from '../resources/monitor.js';

const VERDICTS = ['ok', 'degraded', 'failed'] as const;
const RESULTS = ['success', 'failure', 'inconclusive'] as const;
// Latencies per probe are summaries of its recent samples (recent-quantiles.ts): p50/p95/p99
// exact at each probe's own scale, five series a probe. Fixed buckets were wrong by up to 50x for
// probes far from them (docs/benchmarks.md, bench:metrics; the error is tested).
/** Outages: one bucket, resolved within five minutes or not; MTTR is rate(_sum)/rate(_count). */
const OUTAGE_BUCKETS = [300];
// One series (no probe label): fine-grained, with 15 and 20 ms so the scheduler's 20 ms bar can
// be read off the histogram, not only 10 or 25.
const LATENESS_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.5, 1];

export interface MetricsOptions {
  location: string;
  /** Set when the probes are split between daemons: every series of this one says which it is. */
  shard?: { index: number; count: number } | undefined;
  version: string;
  /** Read at scrape: runs in flight and queued in the scheduler. */
  schedulerState: () => { inFlight: number; queued: number };
  /** Read at scrape: each probe's health, current outage start and learned baseline. */
  probeStates: () => Array<{ probe: string; health: Health; outageStartedAt: number | undefined; baselineMs: number | undefined }>;
  /** Read at scrape: the latest resource samples. */
  resources: () => ProcessReading[];
  /** Read at scrape: receivers, their queues, and firing alerts. */
  alerting: () => { receivers: Array<{ receiver: string; pending: number; oldestCreatedAt: number | undefined }>; firing: number };
  /** Read at scrape: the shared Chromium's pages and starts; undefined while none was needed. */
  browser?: () => { pagesInUse: number; runsWaiting: number; queuedTotal: number; launches: number; crashes: number } | undefined;
  now: () => number;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Series more than one kind records into (the kinds that speak HTTP). */
export interface SharedSeries {
  /** The probe's last HTTP status (set on its series at scrape). */
  httpStatus(probe: string, status: number): void;
}

function recordDetail<D extends ProbeDetail>(probe: string, detail: D, series: unknown, shared: SharedSeries, phases: Phases): void {
  (kindOf(detail.kind).record as (probe: string, d: D, s: unknown, shared: SharedSeries, p: Phases) => void)(probe, detail, series, shared, phases);
}

/** The Prometheus text exposition, one metric at a time with the event loop free in between.
 * prom-client's `registry.metrics()` formats every metric in one run of microtasks: with 200
 * probes that blocked the loop 41–75 ms per scrape in-process (65–100 ms under load), starting probe runs
 * late and stretching what in-flight probes measured. Now the longest block is the largest
 * single metric (the phase histogram: 16–30 ms at 200 probes in-process). */
export async function exposition(registry: Registry): Promise<string> {
  const parts: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    parts.push(await registry.getSingleMetricAsString(metric.name));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return `${parts.join('\n\n')}\n`;
}

export function createMetrics(options: MetricsOptions) {
  const registry = new Registry();
  const { shard } = options;
  registry.setDefaultLabels({ location: options.location, ...(shard && shard.count > 1 ? { shard: String(shard.index) } : {}) });
  const r = [registry];

  // The last run's values are kept per probe and set at scrape: a bound child still hashes its
  // labels on every set(), six times a run (docs/benchmarks.md).
  const probeSuccess = new Gauge({ name: 'flowprobe_probe_success', help: 'Whether the last run of the probe succeeded (1) or failed (0).', labelNames: ['probe', 'kind'], registers: r, collect: () => collectLast('success') });
  const probeDuration = new RecentQuantiles({ name: 'flowprobe_probe_duration_seconds', help: 'Duration of probe runs (conclusive ones): quantiles of the last 128 runs.', labelNames: ['probe'], keep: RUNS_KEPT, registers: r });
  const probePhase = new RecentQuantiles({ name: 'flowprobe_probe_phase_seconds', help: 'Duration of each phase of a probe run (dns, connect, tls, first_byte, download, first_event), for probes with metrics.phases: quantiles of the last 128 runs.', labelNames: ['probe', 'phase'], keep: RUNS_KEPT, registers: r });
  const probeVerdict = new Gauge({ name: 'flowprobe_probe_verdict', help: 'The verdict of the last run of the probe: 1 for the verdict it had (ok, degraded or failed), 0 for the others.', labelNames: ['probe', 'verdict'], registers: r, collect: () => collectLast('verdict') });
  const probeRuns = new Counter({ name: 'flowprobe_probe_runs_total', help: 'Probe runs by result (success, failure, inconclusive).', labelNames: ['probe', 'result'], registers: r });
  const probeFailures = new Counter({ name: 'flowprobe_probe_failures_total', help: 'Failed probe runs by reason (a reason\'s series appears with its first failure).', labelNames: ['probe', 'reason'], registers: r });
  const probeLastRun = new Gauge({ name: 'flowprobe_probe_last_run_timestamp_seconds', help: 'When the probe last finished a run (Unix time).', labelNames: ['probe'], registers: r, collect: () => collectLast('lastRun') });
  const tlsNotAfter = new Gauge({ name: 'flowprobe_tls_cert_not_after_timestamp_seconds', help: 'When the earliest expiring certificate in the chain the server showed expires (Unix time), last TLS run (as blackbox\'s probe_ssl_earliest_cert_expiry).', labelNames: ['probe'], registers: r });
  const tlsVerified = new Gauge({ name: 'flowprobe_tls_cert_verified', help: '1 when the server\'s certificate chain verified on the last TLS run, 0 when it did not (only with insecureSkipVerify).', labelNames: ['probe'], registers: r });
  const httpStatus = new Gauge({ name: 'flowprobe_http_status_code', help: 'HTTP status of the last response (http and sse probes).', labelNames: ['probe'], registers: r, collect: () => collectLast('httpStatus') });
  /** Sets one of the last-run gauges from what each probe's runs left, at scrape. */
  const collectLast = (gauge: 'success' | 'verdict' | 'lastRun' | 'httpStatus') => {
    for (const series of bound.values()) {
      const { finishedAt, verdict, httpStatus: status } = series.last;
      if (gauge === 'lastRun' && finishedAt !== undefined) series.lastRun.set(finishedAt);
      else if (gauge === 'success' && verdict !== undefined) series.success.set(verdict === 'failed' ? 0 : 1);
      else if (gauge === 'verdict' && verdict !== undefined) for (const v of VERDICTS) series.verdict[v].set(v === verdict ? 1 : 0);
      else if (gauge === 'httpStatus' && status !== undefined) series.httpStatus.set(status);
    }
  };

  const lateness = new Histogram({ name: 'flowprobe_scheduler_lateness_seconds', help: 'How late a run started relative to its scheduled slot.', buckets: LATENESS_BUCKETS, registers: r });
  const skipped = new Counter({ name: 'flowprobe_scheduler_skipped_runs_total', help: 'Scheduled runs not started: overlap (previous run still going) or missed (slot already past).', labelNames: ['reason'], registers: r });
  const probesConfigured = new Gauge({ name: 'flowprobe_probes_configured', help: 'Probes in the running configuration.', labelNames: ['kind'], registers: r });
  const reloadOk = new Gauge({ name: 'flowprobe_config_last_reload_successful', help: 'Whether the last configuration load succeeded (1) or failed (0).', registers: r });
  const reloadTime = new Gauge({ name: 'flowprobe_config_last_reload_success_timestamp_seconds', help: 'When the configuration was last loaded successfully (Unix time).', registers: r });
  new Gauge({ name: 'flowprobe_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'], registers: r }).set({ version: options.version, node: process.versions.node }, 1);

  // Each kind's own series, made by its module (probers/<kind>/kind.ts) in this registry; the
  // HTTP status is shared by the kinds that speak HTTP.
  const shared: SharedSeries = {
    httpStatus: (probe, status) => {
      const series = bound.get(probe);
      if (series) series.last.httpStatus = status;
    },
  };
  const kindSeries = Object.fromEntries(Object.entries(KINDS).map(([kind, entry]) => [kind, entry.series(r)])) as Record<ProbeKind, unknown>;
  for (const reason of ['overlap', 'missed']) skipped.inc({ reason }, 0);
  const transitions = new Counter({ name: 'flowprobe_probe_transitions_total', help: 'Probe state transitions by reason (a reason\'s series appears with its first transition).', labelNames: ['probe', 'reason'], registers: r });
  const outageDuration = new Histogram({ name: 'flowprobe_outage_duration_seconds', help: 'How long each incident was failing (the sum of its failing periods, from a failed run to the next good one), observed when it closed: MTTR.', labelNames: ['probe'], buckets: OUTAGE_BUCKETS, registers: r });
  const resourceTransitions = new Counter({ name: 'flowprobe_resource_transitions_total', help: 'Resource budget transitions by process and reason.', labelNames: ['process', 'reason'], registers: r });
  const notifications = new Counter({ name: 'flowprobe_notifications_total', help: 'Notification delivery attempts by receiver and result (success, retry, failed = given up).', labelNames: ['receiver', 'result'], registers: r });
  const notificationFailures = new Counter({ name: 'flowprobe_notification_failures_total', help: 'Failed delivery attempts by receiver and reason.', labelNames: ['receiver', 'reason'], registers: r });
  const notificationsDropped = new Counter({ name: 'flowprobe_notifications_dropped_total', help: 'Queued notifications that will not be sent: replaced by their group\'s newer state (superseded) or dropped past the per-receiver cap (overflow).', labelNames: ['receiver', 'reason'], registers: r });
  const lastSuccess = new Gauge({ name: 'flowprobe_receiver_last_success_timestamp_seconds', help: 'When a receiver last accepted a notification (Unix time).', labelNames: ['receiver'], registers: r });
  const stateWriteErrors = new Counter({ name: 'flowprobe_state_write_errors_total', help: 'Failed writes of state under the state directory.', labelNames: ['file'], registers: r });
  for (const file of ['alerts', 'detector', 'heartbeats', 'history']) stateWriteErrors.inc({ file }, 0);
  const bound = new Map<string, ProbeSeries>();
  const probeState = new Gauge({
    name: 'flowprobe_probe_state',
    help: 'Current state of each probe: 1 for the state it is in, 0 for the others.',
    labelNames: ['probe', 'state'],
    registers: r,
    collect() {
      for (const p of options.probeStates()) {
        const children = bound.get(p.probe)?.state;
        if (children) for (const state of HEALTH) children[state].set(p.health === state ? 1 : 0);
      }
    },
  });
  declareStateGauges(registry, options);
  declareAlertingGauges(registry, options);
  declareSchedulerGauges(registry, options.schedulerState);
  declareBrowserMetrics(registry, options.browser ?? (() => undefined));
  declareProcessMetrics(registry);

  // Every metric with a `probe` label goes with the probe: read off the registry, not a list
  // kept by hand (one that missed a new kind's metric left its series behind after a reload).
  type PerProbe = { labelNames?: readonly string[]; get(): Promise<{ values: Array<{ labels: Record<string, string | number | undefined> }> }>; remove(labels: Record<string, string | number>): void };
  const perProbe = (registry.getMetricsAsArray() as unknown as PerProbe[]).filter((metric) => metric.labelNames?.includes('probe'));

  return {
    registry,

    /** Creates a probe's series at zero, so its run counters exist from the first scrape, and
     * binds them once: recording a result looks no label up. */
    declareProbe(probe: string, kind: ProbeKind, options: { phases: boolean } = { phases: false }): void {
      // A reload that turned phase histograms off: theirs go, rather than stay frozen.
      if (!options.phases && bound.get(probe)?.phases) for (const phase of PHASE_NAMES) probePhase.remove({ probe, phase });
      const series: ProbeSeries = {
        success: probeSuccess.labels({ probe, kind }),
        verdict: Object.fromEntries(VERDICTS.map((verdict) => [verdict, probeVerdict.labels({ probe, verdict })])) as ProbeSeries['verdict'],
        duration: probeDuration.labels({ probe }),
        phases: options.phases ? Object.fromEntries(PHASE_NAMES.map((phase) => [phase, probePhase.labels({ probe, phase })])) : undefined,
        runs: Object.fromEntries(RESULTS.map((result) => [result, probeRuns.labels({ probe, result })])) as ProbeSeries['runs'],
        lastRun: probeLastRun.labels({ probe }),
        httpStatus: httpStatus.labels({ probe }),
        last: bound.get(probe)?.last ?? {},
        state: Object.fromEntries(HEALTH.map((state) => [state, probeState.labels({ probe, state })])) as ProbeSeries['state'],
      };
      bound.set(probe, series);
      for (const result of RESULTS) series.runs[result].inc(0);
      outageDuration.zero({ probe });
      kindOf(kind).declare(probe, kindSeries[kind]);
    },

    /** Declares every probe's series and counts the probes per kind, a slice at a time with
     * the event loop free in between (10,000 probes at once held it for seconds). */
    async declareProbes(probes: ReadonlyArray<{ name: string; kind: ProbeKind; metrics?: { phases: boolean } }>): Promise<void> {
      const perKind: Record<string, number> = {};
      for (const [i, { name, kind, metrics }] of probes.entries()) {
        this.declareProbe(name, kind, metrics);
        perKind[kind] = (perKind[kind] ?? 0) + 1;
        if (i % 500 === 499) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      probesConfigured.reset();
      for (const [kind, count] of Object.entries(perKind)) probesConfigured.set({ kind }, count);
    },

    recordResult(result: ProbeResult): void {
      const series = bound.get(result.probe);
      if (!series) return;
      const { probe } = result;
      const outcome = result.ok ? 'success' : result.failure.code === 'inconclusive' ? 'inconclusive' : 'failure';
      series.runs[outcome].inc();
      if (!result.ok && outcome === 'failure') probeFailures.inc({ probe, reason: result.failure.code });
      series.last.finishedAt = Math.round(result.startedAt + result.durationMs) / 1000;
      if (outcome === 'inconclusive') return;
      series.last.verdict = result.verdict;
      series.duration.observe(result.durationMs / 1000);
      if (series.phases) {
        for (const phase of PHASE_NAMES) {
          const ms = result.phases[phase];
          if (ms !== undefined) series.phases[phase]?.observe(ms / 1000);
        }
      }
      recordDetail(probe, result.detail, kindSeries[result.detail.kind], shared, result.phases);
      if (result.tls) {
        tlsNotAfter.set({ probe }, Math.floor(result.tls.earliestNotAfter / 1000));
        tlsVerified.set({ probe }, result.tls.verified ? 1 : 0);
      }
    },

    recordTransition(t: Transition): void {
      transitions.inc({ probe: t.probe, reason: t.reason });
      // One sample per incident, when it is over: the time it was actually failing.
      if (t.reason === 'incident-closed' && t.outage) outageDuration.observe({ probe: t.probe }, t.outage.durationMs / 1000);
    },

    recordResourceTransition(t: ResourceTransition): void {
      resourceTransitions.inc({ process: t.process, reason: t.reason });
    },

    declareReceiver(receiver: string): void {
      for (const result of ['success', 'retry', 'failed']) notifications.inc({ receiver, result }, 0);
      for (const reason of ['superseded', 'overflow']) notificationsDropped.inc({ receiver, reason }, 0);
    },

    notificationsDropped(receiver: string, reason: 'superseded' | 'overflow', count: number): void {
      notificationsDropped.inc({ receiver, reason }, count);
    },

    recordDelivery(receiver: string, result: 'success' | 'retry' | 'failed', reason: string | undefined, at: number): void {
      notifications.inc({ receiver, result });
      if (reason) notificationFailures.inc({ receiver, reason });
      if (result === 'success') lastSuccess.set({ receiver }, at / 1000);
    },

    stateWriteFailed(file: 'alerts' | 'detector' | 'heartbeats' | 'history'): void {
      stateWriteErrors.inc({ file });
    },

    observeLateness(ms: number): void {
      lateness.observe(Math.max(0, ms) / 1000);
    },

    countSkipped(reason: 'overlap' | 'missed', count: number): void {
      skipped.inc({ reason }, count);
    },

    configLoaded(ok: boolean, at: number): void {
      reloadOk.set(ok ? 1 : 0);
      if (ok) reloadTime.set(at / 1000);
    },

    /** Drops every series of the probes that are no longer configured: one pass over each
     * metric for all of them (a pass per probe made removing 5,000 probes take 37 s), with the
     * event loop free between metrics. */
    async forgetProbes(probes: ReadonlySet<string>): Promise<void> {
      if (probes.size === 0) return;
      for (const probe of probes) bound.delete(probe);
      for (const metric of perProbe) {
        const { values } = await metric.get();
        const seen = new Set<string>();
        for (const { labels } of values) {
          if (typeof labels.probe !== 'string' || !probes.has(labels.probe)) continue;
          const { le: _bucket, quantile: _quantile, location: _location, ...rest } = labels as Record<string, string | number>;
          const key = JSON.stringify(rest);
          if (seen.has(key)) continue;
          seen.add(key);
          metric.remove(rest);
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },
  };
}

type GaugeChild = ReturnType<Gauge['labels']>;
type CounterChild = ReturnType<Counter['labels']>;
type SummaryChild = ReturnType<RecentQuantiles['labels']>;

/** A probe's own series, bound when it is declared. */
interface ProbeSeries {
  success: GaugeChild;
  verdict: Record<(typeof VERDICTS)[number], GaugeChild>;
  duration: SummaryChild;
  /** Only for probes that ask for them (metrics.phases): five or six summaries a probe. */
  phases: Partial<Record<(typeof PHASE_NAMES)[number], SummaryChild>> | undefined;
  runs: Record<(typeof RESULTS)[number], CounterChild>;
  lastRun: GaugeChild;
  httpStatus: GaugeChild;
  /** What the last runs left, set on the gauges above at scrape (a series appears with its
   * first value). */
  last: { finishedAt?: number; verdict?: ProbeResult['verdict']; httpStatus?: number };
  /** Set at scrape from the detector (flowprobe_probe_state). */
  state: Record<Health, GaugeChild>;
}

const HEALTH: readonly Health[] = ['pending', 'healthy', 'degraded', 'failing'];

/** Point-in-time state, read at scrape from the detector and the resource monitor (each probe's
 * state is a bound series of its own, in createMetrics). */
function declareStateGauges(registry: Registry, options: MetricsOptions): void {
  const r = [registry];
  new Gauge({
    name: 'flowprobe_outage_age_seconds',
    help: 'Age of the current outage of each failing probe (only failing probes have the series).',
    labelNames: ['probe'],
    registers: r,
    collect() {
      this.reset();
      const now = options.now();
      for (const p of options.probeStates()) if (p.outageStartedAt !== undefined && p.health === 'failing') this.set({ probe: p.probe }, Math.round(now - p.outageStartedAt) / 1000);
    },
  });
  new Gauge({
    name: 'flowprobe_probe_baseline_seconds',
    help: 'Learned baseline of the degradation figure of each probe that has one.',
    labelNames: ['probe'],
    registers: r,
    collect() {
      this.reset();
      for (const p of options.probeStates()) if (p.baselineMs !== undefined) this.set({ probe: p.probe }, p.baselineMs / 1000);
    },
  });
  const readings = (pick: (reading: ProcessReading) => number | undefined) =>
    function (this: Gauge) {
      this.reset();
      for (const reading of options.resources()) {
        const value = pick(reading);
        if (value !== undefined) this.set({ process: reading.process }, value);
      }
    };
  new Gauge({ name: 'flowprobe_resource_cpu_ratio', help: 'CPU use of a watched process (1 = one core), last sample.', labelNames: ['process'], registers: r, collect: readings((x) => x.sample && x.sample.cpuPercent / 100) });
  new Gauge({ name: 'flowprobe_resource_rss_bytes', help: 'Resident memory of a watched process, last sample.', labelNames: ['process'], registers: r, collect: readings((x) => x.sample?.rssBytes) });
  new Gauge({ name: 'flowprobe_resource_up', help: 'Whether a watched process is running (1) or gone (0).', labelNames: ['process'], registers: r, collect: readings((x) => (x.state === 'gone' ? 0 : 1)) });
  new Gauge({ name: 'flowprobe_resource_over_budget', help: 'Whether a watched process is over its budget (1) or not (0).', labelNames: ['process'], registers: r, collect: readings((x) => (x.state === 'over-budget' ? 1 : 0)) });
}

function declareAlertingGauges(registry: Registry, options: MetricsOptions): void {
  const r = [registry];
  new Gauge({
    name: 'flowprobe_outbox_pending',
    help: 'Notifications queued for a receiver, not yet delivered.',
    labelNames: ['receiver'],
    registers: r,
    collect() {
      this.reset();
      for (const q of options.alerting().receivers) this.set({ receiver: q.receiver }, q.pending);
    },
  });
  new Gauge({
    name: 'flowprobe_outbox_oldest_age_seconds',
    help: 'Age of the oldest notification queued for a receiver (0 when none).',
    labelNames: ['receiver'],
    registers: r,
    collect() {
      this.reset();
      const now = options.now();
      for (const q of options.alerting().receivers) this.set({ receiver: q.receiver }, q.oldestCreatedAt === undefined ? 0 : (now - q.oldestCreatedAt) / 1000);
    },
  });
  new Gauge({ name: 'flowprobe_alerts_firing', help: 'Alerts firing now.', registers: r, collect() { this.set(options.alerting().firing); } });
}

function declareSchedulerGauges(registry: Registry, state: MetricsOptions['schedulerState']): void {
  new Gauge({ name: 'flowprobe_scheduler_runs_in_flight', help: 'Probe runs in progress.', registers: [registry], collect() { this.set(state().inFlight); } });
  new Gauge({ name: 'flowprobe_scheduler_queue_depth', help: 'Runs waiting for a concurrency slot.', registers: [registry], collect() { this.set(state().queued); } });
}

/** The shared Chromium: pages held and runs waiting now; starts, crashes and runs that waited. */
function declareBrowserMetrics(registry: Registry, browser: NonNullable<MetricsOptions['browser']>): void {
  const r = [registry];
  new Gauge({ name: 'flowprobe_browser_pages', help: 'Browser runs holding a page (in_use) and waiting for one (waiting), of browser.maxPages.', labelNames: ['state'], registers: r, collect() {
    const b = browser();
    this.set({ state: 'in_use' }, b?.pagesInUse ?? 0);
    this.set({ state: 'waiting' }, b?.runsWaiting ?? 0);
  } });
  const counter = (name: string, help: string, read: (b: NonNullable<ReturnType<typeof browser>>) => number) =>
    new Counter({ name, help, registers: r, collect() {
      this.reset();
      this.inc(read(browser() ?? { pagesInUse: 0, runsWaiting: 0, queuedTotal: 0, launches: 0, crashes: 0 }));
    } });
  counter('flowprobe_browser_launches_total', 'Times the shared Chromium was started (the first browser run, and after a crash).', (b) => b.launches);
  counter('flowprobe_browser_crashes_total', 'Times the shared Chromium exited while the daemon needed it (its runs failed with code browser).', (b) => b.crashes);
  counter('flowprobe_browser_queued_runs_total', 'Browser runs that waited for a page (browser.maxPages in use).', (b) => b.queuedTotal);
}

/** Our own process metrics (prom-client's defaults fail promtool: gauges named *_total). */
function declareProcessMetrics(registry: Registry): void {
  const r = [registry];
  const loopDelay = watchLoopDelay();
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent by the daemon.',
    registers: r,
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc((usage.user + usage.system) / 1e6);
    },
  });
  new Gauge({ name: 'process_resident_memory_bytes', help: 'Resident set size.', registers: r, collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process (Unix time).', registers: r }).set(Math.floor((Date.now() - process.uptime() * 1000) / 1000));
  new Gauge({ name: 'process_open_fds', help: 'Open file descriptors.', registers: r, collect() { this.set(openFds()); } });
  new Gauge({ name: 'flowprobe_heap_used_bytes', help: 'V8 heap in use.', registers: r, collect() { this.set(process.memoryUsage().heapUsed); } });
  new Gauge({ name: 'flowprobe_heap_committed_bytes', help: 'V8 heap reserved from the OS (in use plus room V8 keeps to allocate into).', registers: r, collect() { this.set(process.memoryUsage().heapTotal); } });
  new Gauge({ name: 'flowprobe_external_memory_bytes', help: 'Memory held outside the V8 heap by Buffers and other native objects.', registers: r, collect() { this.set(process.memoryUsage().external); } });
  new Gauge({
    name: 'flowprobe_event_loop_delay_p99_seconds',
    help: 'Event-loop delay p99 since the previous scrape.',
    registers: r,
    collect() {
      this.set(loopDelay.percentileMs(99) / 1000);
      loopDelay.reset();
    },
  });
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
