// Wires config → scheduler → probers → result fan-out (metrics, history, log) → server.
// start()/reload()/stop(); no process handling here: main.ts owns signals and exit codes.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { DestinationStream } from 'pino';
import { formatDiagnostic, type Diagnostic } from './config/diagnostics.js';
import { loadConfig, type Config } from './config/load.js';
import type { ProbeSpec } from './config/schema.js';
import { formatDuration } from './config/units.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createRedactor, redactDeep, type Redact } from './logging/redact.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { runProbe } from './probers/run-probe.js';
import type { ProbeResult } from './probers/types.js';
import { fanOut, logSink, type ResultSink } from './results/fan-out.js';
import { History } from './results/history.js';
import type { Clock } from './scheduler/clock.js';
import { Scheduler, type Job } from './scheduler/scheduler.js';
import { createServer, listen } from './server/server.js';
import { statusDocument } from './server/status.js';
import type { ResourceTransition } from './detect/budget.js';
import { Health } from './detect/health.js';
import type { Transition } from './detect/probe-state.js';
import { ResourceMonitor } from './resources/monitor.js';
import { AlertEngine } from './alerting/engine.js';
import { eventsFromResource, eventsFromTransition, type AlertEvent } from './alerting/alert.js';
import { isSelfAlert, probeSideEvent, SELF_ALERT, stateUnwritableEvent } from './alerting/self-alerts.js';
import { probeSideVerdict } from './detect/probe-side.js';
import path from 'node:path';

export interface DaemonOptions {
  configFile: string;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  version: string;
  /** Overrides the config's probesDir. */
  probesDir?: string;
  /** Overrides the config's listen address (tests use 127.0.0.1:0). */
  listen?: string;
  logDestination?: DestinationStream;
}

export class ConfigError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`configuration has ${diagnostics.length} problem(s):\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  }
}

/** The listen address cannot be bound: a configuration problem (exit 78), said in plain words. */
export class ListenError extends Error {
  constructor(
    readonly address: string,
    readonly reason: NodeJS.ErrnoException,
  ) {
    super(`cannot listen on ${address}: ${LISTEN_WHY[reason.code ?? ''] ?? reason.message}`);
  }
}

const LISTEN_WHY: Record<string, string> = {
  EADDRINUSE: 'the port is already in use by another process',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host\'s addresses',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name cannot be resolved right now',
};

export class Daemon {
  private config: Config;
  private redact: Redact;
  readonly logger: Logger;
  readonly metrics: Metrics;
  private readonly history: History;
  private readonly scheduler: Scheduler;
  private readonly server: http.Server;
  private readonly record: ResultSink;
  private readonly health: Health;
  private readonly resources: ResourceMonitor;
  readonly alerting: AlertEngine;
  /** Set while state cannot be written: alerted once, resolved at the next good write. */
  private stateTrouble: string | undefined;
  private probeSideSuspected = false;
  private readonly startedAt: number;
  private specs = new Map<string, ProbeSpec>();
  private lastReload: { at: number; ok: boolean; problems: string[] };
  private state: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  address: { host: string; port: number } | undefined;

  private constructor(private readonly options: DaemonOptions, config: Config) {
    this.config = config;
    this.redact = createRedactor(config.secrets);
    this.startedAt = options.clock.now();
    this.logger = createLogger({ level: config.settings.log.level, redact: () => this.redact, destination: options.logDestination });
    this.history = new History(config.settings.history);
    this.scheduler = new Scheduler({
      clock: options.clock,
      maxConcurrent: config.settings.scheduler.maxConcurrent,
      onLateness: (ms) => this.metrics.observeLateness(ms),
      onSkip: (probe, reason, count) => {
        this.metrics.countSkipped(reason, count);
        this.logger.warn({ probe, reason, count }, 'scheduled run skipped');
      },
    });
    this.health = new Health({
      clock: options.clock,
      stateDir: config.settings.stateDir,
      onTransitions: (transitions) => this.onTransitions(transitions),
      onSave: (err, file) => {
        if (err === undefined) return void (this.stateTrouble && this.stateRecovered());
        this.metrics.stateWriteFailed('detector');
        this.logger.error({ err, file }, 'cannot save detector state');
        this.stateFailing(`cannot write ${file}: ${(err as Error).message}`);
      },
      saveEveryMs: () => (this.stateTrouble ? 5_000 : 60_000),
    });
    this.resources = new ResourceMonitor(
      options.clock,
      config.settings.resources,
      (transitions) => this.onResourceTransitions(transitions),
      (process, err) => this.logger.warn({ process, err }, 'resource sample failed'),
    );
    this.metrics = createMetrics({
      location: config.settings.location,
      version: options.version,
      schedulerState: () => ({ inFlight: this.scheduler.inFlight, queued: this.scheduler.queued }),
      probeStates: () =>
        this.config.probes.map((spec) => {
          const state = this.health.state(spec.name);
          return { probe: spec.name, health: state?.health ?? 'healthy', outageStartedAt: state?.outage?.startedAt, baselineMs: state?.baselineMs };
        }),
      resources: () => this.resources.readingsNow(),
      alerting: () => ({
        receivers: this.alerting.receiverNames().map((receiver) => {
          const { count, oldestCreatedAt } = this.alerting.pending(receiver);
          return { receiver, pending: count, oldestCreatedAt };
        }),
        firing: this.alerting.alerts().filter((a) => a.status === 'firing').length,
      }),
      now: () => options.clock.now(),
    });
    this.alerting = new AlertEngine({
      clock: options.clock,
      stateDir: config.settings.stateDir,
      location: config.settings.location,
      config: config.settings.alerting,
      events: {
        attempt: (receiver, notification, delivery, attempts) => {
          const result = delivery.ok ? 'success' : delivery.retry ? 'retry' : 'failed';
          this.metrics.recordDelivery(receiver, result, delivery.ok ? undefined : delivery.reason, options.clock.now());
          const fields = { receiver, notification: notification.id, status: notification.status, alerts: notification.alerts.length, attempts, test: notification.test };
          if (delivery.ok) this.logger.info(fields, `notification delivered to ${receiver}`);
          else if (delivery.retry) this.logger.warn({ ...fields, reason: delivery.reason, error: delivery.message }, `notification to ${receiver} failed, will retry`);
          else this.logger.error({ ...fields, reason: delivery.reason, error: delivery.message }, `notification to ${receiver} rejected, not retried`);
        },
        decision: (group, reason, alerts) => this.logger.debug({ group, reason, alerts }, 'alert group evaluated'),
        saveError: (err) => {
          this.metrics.stateWriteFailed('alerts');
          this.logger.error({ err }, 'cannot write the alert outbox: notifications are kept in memory until it can');
          this.stateFailing(`cannot write ${path.join(config.settings.stateDir, 'alerts.json')}: ${(err as Error).message}`);
        },
      },
    });
    // Where each result goes, in order. The detector comes last: it sees what was recorded.
    this.record = fanOut(
      [(r) => this.metrics.recordResult(r), (r) => this.history.add(r), logSink(this.logger), (r) => this.health.observe(r)],
      this.logger,
    );
    this.lastReload = { at: this.startedAt, ok: true, problems: [] };
    this.server = createServer({
      registry: this.metrics.registry,
      status: () => this.status(),
      ready: () => this.state === 'running',
      logger: this.logger.child({ component: 'server' }),
      alerts: () => redactDeep({ alerts: this.alerting.alerts(), silences: this.alerting.silences() }, this.redact),
      silences: {
        list: () => this.alerting.silences(),
        add: (input) => this.alerting.addSilence(input),
        remove: (id) => this.alerting.removeSilence(id),
      },
      apiToken: () => this.config.settings.apiToken,
    });
  }

  /** Loads the config (throws ConfigError listing every problem), starts probing and serving. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const loaded = loadConfig(options.configFile, { env: options.env, probesDir: options.probesDir });
    if (!loaded.ok) throw new ConfigError(loaded.diagnostics);
    const daemon = new Daemon(options, loaded.config);
    try {
      await daemon.begin();
    } catch (error) {
      // Never a half-started process (port open, nothing probing): undo what started, then say why.
      await daemon.abandon();
      throw error;
    }
    return daemon;
  }

  private async begin(): Promise<void> {
    const { settings } = this.config;
    const address = this.options.listen ?? settings.listen;
    try {
      this.address = await listen(this.server, address);
    } catch (error) {
      throw new ListenError(address, error as NodeJS.ErrnoException);
    }
    await this.apply(this.config, false);
    this.metrics.configLoaded(true, this.options.clock.now());
    this.scheduler.start();
    this.resources.start();
    this.alerting.start();
    this.probeSideSuspected = this.alerting.alerts().some((a) => a.status === 'firing' && isSelfAlert(a.labels, SELF_ALERT.probeSide));
    for (const problem of [this.health.problem, this.alerting.stateProblem]) {
      if (problem) {
        this.logger.error({ problem }, 'state directory problem');
        this.stateFailing(problem);
      }
    }
    this.health.start();
    this.state = 'running';
    this.logger.info(
      { listen: `${this.address.host}:${this.address.port}`, location: settings.location, probes: this.config.probes.length, config: this.config.configFile },
      'flowprobe started',
    );
  }

  private async abandon(): Promise<void> {
    this.state = 'stopping';
    this.scheduler.stop(0).catch(() => undefined);
    this.resources.stop();
    this.alerting.stop();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.state = 'stopped';
    this.logger.flush();
  }

  /** Re-reads config and probes. A bad config keeps the running one and says why. */
  async reload(): Promise<{ ok: boolean; diagnostics: Diagnostic[] }> {
    const loaded = loadConfig(this.options.configFile, { env: this.options.env, probesDir: this.options.probesDir });
    const at = this.options.clock.now();
    if (!loaded.ok) {
      const problems = loaded.diagnostics.map(formatDiagnostic);
      this.lastReload = { at, ok: false, problems };
      this.metrics.configLoaded(false, at);
      this.logger.error({ problems }, `reload failed: keeping the running configuration (${problems.length} problem(s))`);
      return { ok: false, diagnostics: loaded.diagnostics };
    }
    const next = loaded.config;
    for (const key of ['listen', 'location', 'stateDir'] as const) {
      if (next.settings[key] !== this.config.settings[key]) this.logger.warn({ key }, `${key} changed: takes effect after a restart`);
    }
    await this.apply(next, true);
    this.lastReload = { at, ok: true, problems: [] };
    this.metrics.configLoaded(true, at);
    this.logger.info({ probes: next.probes.length }, 'configuration reloaded');
    return { ok: true, diagnostics: [] };
  }

  private async apply(config: Config, reloading: boolean): Promise<void> {
    const previous = this.specs;
    this.config = config;
    this.redact = createRedactor(config.secrets);
    this.logger.level = config.settings.log.level;
    this.history.setLimits(config.settings.history);
    // An unchanged probe keeps its spec object: a run in flight during the reload still belongs
    // to it and is recorded (a changed or removed probe's run is dropped).
    this.specs = new Map(config.probes.map((spec) => {
      const old = previous.get(spec.name);
      return [spec.name, old && sameSpec(old, spec) ? old : spec];
    }));
    for (const name of previous.keys()) {
      if (this.specs.has(name)) continue;
      this.history.forget(name);
      await this.metrics.forgetProbe(name);
    }
    const perKind: Record<string, number> = {};
    for (const spec of config.probes) {
      this.metrics.declareProbe(spec.name, spec.kind);
      perKind[spec.kind] = (perKind[spec.kind] ?? 0) + 1;
    }
    this.metrics.setProbesConfigured(perKind);
    this.health.configure(config.settings.detect, config.probes);
    if (reloading) this.alerting.configure(config.settings.alerting);
    for (const receiver of config.settings.alerting.receivers) this.metrics.declareReceiver(receiver.name);
    this.resources.configure(config.settings.resources);
    this.scheduler.update([...this.specs.values()].map((spec) => this.jobFor(spec)));
  }

  /** A failure taken while the daemon itself was starved says nothing about the target. */
  private judge(result: ProbeResult): ProbeResult {
    if (result.ok || result.failure.code === 'inconclusive') return result;
    if (!this.resources.starvedDuring(result.startedAt, result.startedAt + result.durationMs)) return result;
    return { ...result, failure: { code: 'inconclusive', message: `the daemon was starved during this run (event loop or CPU over its budget); the target's answer: ${result.failure.code}: ${result.failure.message}` } };
  }

  private onTransitions(transitions: Transition[]): void {
    const { location, alerting } = this.config.settings;
    this.alerting.handle([...this.probeSideEvents(transitions), ...transitions.flatMap((t) => eventsFromTransition(t, this.probeInfo(t.probe), location, alerting.severity))]);
    for (const t of transitions) {
      this.metrics.recordTransition(t);
      const fields = { probe: t.probe, from: t.from, to: t.to, reason: t.reason, evidence: t.evidence, ...(t.outage ? { outage_ms: Math.round(t.outage.durationMs) } : {}) };
      if (t.to === 'healthy') this.logger.info(fields, `probe ${t.probe} is healthy again (${t.reason})`);
      else this.logger.warn(fields, `probe ${t.probe} is ${t.reason === 'not-recovered-within' ? 'not recovered within its budget' : t.to} (${t.reason})`);
    }
  }

  /** Most probes failing at once points at our own side: one alert for that, raised or resolved
   * as the share of failing probes crosses the rule. */
  private probeSideEvents(transitions: Transition[]): AlertEvent[] {
    if (!transitions.some((t) => t.to === 'failing' || t.from === 'failing')) return [];
    const { location, alerting } = this.config.settings;
    const verdict = probeSideVerdict(
      this.config.probes.map((spec) => {
        const last = this.history.last(spec.name);
        return { failing: this.health.state(spec.name)?.health === 'failing', lastCode: last && !last.ok ? last.failure.code : undefined };
      }),
      alerting.probeSide,
    );
    if (verdict.suspected === this.probeSideSuspected) return [];
    this.probeSideSuspected = verdict.suspected;
    return [probeSideEvent(verdict, { location, severity: alerting.severity }, this.options.clock.now())];
  }

  private probeInfo(probe: string) {
    const spec = this.specs.get(probe);
    const last = this.history.last(probe);
    return {
      kind: spec?.kind ?? 'unknown',
      labels: spec?.labels ?? {},
      checks: last?.checks ?? [],
      lastError: last && !last.ok ? `${last.failure.code}: ${last.failure.message}` : undefined,
    };
  }

  private onResourceTransitions(transitions: ResourceTransition[]): void {
    const { location, alerting } = this.config.settings;
    this.alerting.handle(transitions.flatMap((t) => eventsFromResource(t, location, alerting.severity)));
    for (const t of transitions) {
      this.metrics.recordResourceTransition(t);
      const fields = { process: t.process, from: t.from, to: t.to, reason: t.reason, evidence: t.evidence };
      if (t.to === 'ok') this.logger.info(fields, `process ${t.process} is ${t.reason === 'back' ? 'back' : 'within budget again'}`);
      else this.logger.warn(fields, `process ${t.process} is ${t.to}`);
    }
  }

  /** The state directory is unusable: one alert through the receivers (from memory), no crash. */
  private stateFailing(problem: string): void {
    if (this.stateTrouble) return;
    this.stateTrouble = problem;
    this.health.scheduleSave();
    this.alerting.handle([stateUnwritableEvent(problem, this.alertWhere(), this.options.clock.now())]);
  }

  private stateRecovered(): void {
    this.stateTrouble = undefined;
    this.health.scheduleSave();
    this.alerting.handle([stateUnwritableEvent(undefined, this.alertWhere(), this.options.clock.now())]);
  }

  private alertWhere(): { location: string; severity: Readonly<Record<string, string>> } {
    return { location: this.config.settings.location, severity: this.config.settings.alerting.severity };
  }

  private jobFor(spec: ProbeSpec): Job {
    return {
      name: spec.name,
      schedule: spec.schedule,
      timeoutMs: spec.timeoutMs,
      run: async ({ slot, startedAt, signal }) => {
        const result = this.judge(await runProbe(spec, { signal, runId: randomUUID(), redact: this.redact }, { slot, startedAt }));
        // A run that outlived its probe's removal (or was cut short by shutdown) is not recorded.
        if (this.specs.get(spec.name) !== spec) return;
        if (!result.ok && result.failure.code === 'inconclusive' && this.state === 'stopping') return;
        this.record(result);
      },
    };
  }

  /** Stops scheduling, lets runs finish within the grace period, then aborts them. */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    const grace = this.config.settings.shutdownGrace;
    this.logger.info({ in_flight: this.scheduler.inFlight, grace: formatDuration(grace) }, 'stopping');
    await this.scheduler.stop(grace);
    this.resources.stop();
    this.alerting.stop();
    this.health.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.state = 'stopped';
    this.logger.info('stopped');
    this.logger.flush();
  }

  /** The status API document, with every secret removed. */
  status(): unknown {
    const doc = statusDocument({
      config: this.config,
      version: this.options.version,
      startedAt: this.startedAt,
      lastReload: this.lastReload,
      now: this.options.clock.now(),
      history: this.history,
      detector: this.health.detectorView,
      resources: this.resources.readingsNow(),
    });
    return redactDeep(doc, this.redact);
  }
}

function sameSpec(a: ProbeSpec, b: ProbeSpec): boolean {
  return a.fingerprint === b.fingerprint && a.source === b.source;
}
