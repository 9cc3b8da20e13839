// Wiring, and nothing else: config → scheduler → probers → result fan-out (metrics, history,
// log, health) → alerting → receivers, plus the server. start()/reload()/stop(); main.ts owns
// signals and exit codes. Each part does its own work; this file says who tells whom.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { eventsFromResource, eventsFromTransition, probeAlertLabels } from './alerting/alert.js';
import { AlertEngine } from './alerting/engine.js';
import { isSelfAlert, SELF_ALERT, SelfAlerts } from './alerting/self-alerts.js';
import { SelfHeartbeat } from './alerting/self-heartbeat.js';
import { formatDiagnostic, type Diagnostic } from './config/diagnostics.js';
import { loadConfig, loadConfigSliced, type Config } from './config/load.js';
import type { ProbeSpec } from './config/schema.js';
import { formatDuration } from './config/units.js';
import { Health } from './detect/health.js';
import type { Transition } from './detect/probe-state.js';
import { logDelivery, logResourceTransition, logResult, logTransition } from './logging/events.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createRedactor, redactDeep, type Redact } from './logging/redact.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { HeartbeatBook } from './probers/heartbeat/book.js';
import { judge } from './probers/heartbeat/prober.js';
import { runProbe } from './probers/run-probe.js';
import { Chromium } from './probers/chromium.js';
import type { ProbeResult, Screenshot } from './probers/types.js';
import { ResourceMonitor } from './resources/monitor.js';
import { fanOut, type ResultSink } from './results/fan-out.js';
import { History } from './results/history.js';
import { storedRun } from './store/record.js';
import { NewerSchemaError, openStore, type HistoryStore, type StoreTarget } from './store/store.js';
import { whereOf } from './store/backend.js';
import type { Clock, Timer } from './scheduler/clock.js';
import { Scheduler, type Job } from './scheduler/scheduler.js';
import { createServer, listen } from './server/server.js';
import { NO_RECEIVER, statusDocuments, type StatusInputs } from './server/status.js';
import { StatusSite } from './web/site.js';

export { ListenError } from './server/server.js';

export interface DaemonOptions {
  configFile: string;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  version: string;
  /** Overrides the config's probesDir and stateDir. */
  probesDir?: string;
  stateDir?: string;
  /** Overrides the config's listen address (tests use 127.0.0.1:0). */
  listen?: string;
  logDestination?: DestinationStream;
  /** Overrides the config's log level (the demo shows warnings and worse). */
  logLevel?: string;
}

export class ConfigError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`configuration has ${diagnostics.length} problem(s):\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  }
}

export class Daemon {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly alerting: AlertEngine;
  address: { host: string; port: number } | undefined;
  private config: Config;
  /** The settings read at start: what a restart-only setting is compared with on reload. */
  private readonly startSettings: Config['settings'];
  private redact: Redact;
  private specs = new Map<string, ProbeSpec>();
  private readonly history: History;
  /** Runs, uptime and incidents on disk (history.store); undefined when off or unusable. */
  private store: HistoryStore | undefined;
  /** While the store cannot be opened (a full disk, a wrong owner): what it is to be told, in
   * order, bounded, and the timer of the next try. */
  private storeBacklog: Array<(store: HistoryStore) => void> = [];
  private storeRetry: Timer | undefined;
  private readonly scheduler: Scheduler;
  private readonly health: Health;
  private readonly resources: ResourceMonitor;
  private readonly server: http.Server;
  private readonly site: StatusSite;
  private readonly record: ResultSink;
  private readonly selfAlerts: SelfAlerts;
  private readonly heartbeats: HeartbeatBook;
  private readonly selfHeartbeat: SelfHeartbeat;
  private readonly startedAt: number;
  private lastReload: { at: number; ok: boolean; problems: string[] };
  private state: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';

  private constructor(private readonly options: DaemonOptions, config: Config) {
    const { clock } = options;
    const { settings } = config;
    this.config = config;
    this.startSettings = settings;
    this.redact = createRedactor(config.secrets);
    this.startedAt = clock.now();
    this.lastReload = { at: this.startedAt, ok: true, problems: [] };
    this.logger = createLogger({ level: options.logLevel ?? settings.log.level, redact: () => this.redact, destination: options.logDestination });
    this.history = new History(settings.history);
    this.heartbeats = new HeartbeatBook(path.join(settings.stateDir, 'heartbeats.json'), clock, (err) => this.stateUnwritable('heartbeats', err, path.join(settings.stateDir, 'heartbeats.json')));
    this.selfHeartbeat = new SelfHeartbeat(clock, this.logger.child({ component: 'self-heartbeat' }), () => this.state === 'running');
    this.scheduler = new Scheduler({
      clock,
      maxConcurrent: settings.scheduler.maxConcurrent,
      spreadStepMs: settings.scheduler.spreadStep,
      onLateness: (ms) => this.metrics.observeLateness(ms),
      onSkip: (probe, reason, count) => (this.metrics.countSkipped(reason, count), this.logger.warn({ probe, reason, count }, 'scheduled run skipped')),
    });
    this.health = new Health({
      clock,
      stateDir: settings.stateDir,
      onTransitions: (transitions) => this.onTransitions(transitions),
      onSave: (err, file) => (err === undefined ? this.stateWritten() : this.stateUnwritable('detector', err, file)),
      saveEveryMs: () => (this.selfAlerts.stateTrouble ? 5_000 : 60_000),
      afterAlertsSaved: (fn) => this.alerting.afterNextSave(fn),
    });
    this.resources = new ResourceMonitor(
      clock,
      settings.resources,
      (transitions) => {
        this.alerting.handle(transitions.flatMap((t) => eventsFromResource(t, this.config.settings.location, this.config.settings.alerting.severity)));
        for (const t of transitions) (this.metrics.recordResourceTransition(t), logResourceTransition(this.logger, t));
      },
      (process, err) => this.logger.warn({ process, err }, 'resource sample failed'),
    );
    this.alerting = new AlertEngine({
      clock,
      stateDir: settings.stateDir,
      location: settings.location,
      config: settings.alerting,
      redact: () => this.redact,
      events: {
        attempt: (receiver, notification, delivery, attempts) => {
          this.metrics.recordDelivery(receiver, delivery.ok ? 'success' : delivery.retry ? 'retry' : 'failed', delivery.ok ? undefined : delivery.reason, clock.now());
          logDelivery(this.logger, receiver, notification, delivery, attempts);
          for (const probe of this.history.noteDelivery(receiver, notification, delivery, clock.now(), (name) => this.specs.has(name))) {
            const [at, text] = [clock.now(), delivery.ok ? `notified ${receiver}` : `notification to ${receiver} failed: ${delivery.reason}`];
            // A delivery failure's reason may quote a receiver's URL: stored as shown, redacted.
            this.toStore((store) => store.notified(probe, at, this.redact(text)));
            this.site.live.changed(probe);
          }
        },
        decision: (group, reason, alerts) => this.logger.debug({ group, reason, alerts }, 'alert group evaluated'),
        dropped: (receiver, reason, count) => {
          this.metrics.notificationsDropped(receiver, reason, count);
          if (reason === 'overflow') this.logger.warn({ receiver, count }, `outbox for ${receiver} is full: dropped its ${count} oldest notification(s)`);
        },
        saveError: (err) => this.stateUnwritable('alerts', err, path.join(settings.stateDir, 'alerts.json')),
      },
    });
    this.selfAlerts = new SelfAlerts({
      where: () => ({ location: this.config.settings.location, severity: this.config.settings.alerting.severity }),
      now: () => clock.now(),
      setTimer: (ms, fn) => clock.setTimer(ms, fn),
      raise: (events) => this.alerting.handle(events),
      probeSideFiring: this.alerting.alerts().some((a) => a.status === 'firing' && isSelfAlert(a.labels, SELF_ALERT.probeSide)),
      stateLostSince: this.alerting.alerts().find((a) => a.status === 'firing' && isSelfAlert(a.labels, SELF_ALERT.stateLost))?.startsAt,
    });
    this.metrics = createMetrics({
      location: settings.location,
      shard: settings.shard,
      version: options.version,
      schedulerState: () => ({ inFlight: this.scheduler.inFlight, queued: this.scheduler.queued }),
      probeStates: () => this.health.gauges(this.config.probes),
      resources: () => this.resources.readingsNow(),
      alerting: () => this.alerting.gauges(),
      browser: () => this.chromium,
      now: () => clock.now(),
    });
    const documents = statusDocuments({
      inputs: () => this.statusInputs(),
      redact: () => this.redact,
      spec: (name) => this.specs.get(name),
      alerts: () => {
        const receivers = this.alerting.receivers();
        return { alerts: this.alerting.alerts(), silences: this.alerting.silences(), receivers, warning: receivers.length === 0 ? NO_RECEIVER : undefined };
      },
    });
    this.site = new StatusSite({ ...documents, location: () => this.config.settings.location, now: () => clock.now(), screenshot: (name) => this.screenshots.get(name) });
    // Where each result goes, in order. Health comes last but one: it sees what was recorded,
    // and the status page shows the state it left.
    this.record = fanOut([(r) => this.metrics.recordResult(r), (r) => this.history.add(r), (r) => this.keep(r), (r) => logResult(this.logger, r), (r) => this.health.observe(r), (r) => this.site.live.changed(r.probe)], this.logger);
    this.server = createServer({
      registry: this.metrics.registry,
      status: documents,
      site: this.site,
      ready: () => this.state === 'running',
      logger: this.logger.child({ component: 'server' }),
      alerts: documents.alerts,
      silences: {
        list: () => this.alerting.silences(),
        add: (input) => this.alerting.addSilence(input),
        remove: (id) => this.alerting.removeSilence(id),
        matching: (input) => {
          const { location, alerting } = this.config.settings;
          return this.config.probes.filter((spec) => input.matchers.matches(probeAlertLabels('ProbeFailing', spec.name, spec, location, alerting.severity))).map((spec) => spec.name);
        },
      },
      apiToken: () => this.config.settings.apiToken,
      history: {
        store: () => this.store,
        state: (name) => (this.specs.has(name) ? (this.health.state(name)?.health ?? 'pending') : undefined),
        now: () => clock.now(),
        redact: () => this.redact,
        location: () => this.config.settings.location,
        baseUrl: () => this.config.settings.alerting.externalUrl ?? `http://${this.address?.host.includes(':') ? `[${this.address.host}]` : (this.address?.host ?? '127.0.0.1')}:${this.address?.port ?? 9464}/`,
      },
      heartbeats: {
        token: (name) => {
          const spec = this.specs.get(name);
          return spec?.kind === 'heartbeat' ? (spec as ProbeSpec<'heartbeat'>).token : undefined;
        },
        ping: (name, query) => {
          const result = this.heartbeats.ping(name, query);
          if (!result.accepted) return result;
          this.logger.info({ probe: name, status: query.status, duration_ms: query.duration }, 'heartbeat ping');
          // When the next ping is due, as the probe will judge it.
          const judged = judge(this.specs.get(name) as ProbeSpec<'heartbeat'>, result.record, clock.now()).detail;
          return { accepted: true, next: judged.kind === 'heartbeat' ? judged.dueBy : undefined };
        },
      },
    });
  }

  /** Loads the config (throws ConfigError listing every problem), starts probing and serving;
   * a listen address that cannot be bound throws ListenError. Never leaves a half-started
   * process behind (port open, nothing probing). */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const loaded = loadConfig(options.configFile, { env: options.env, probesDir: options.probesDir, stateDir: options.stateDir });
    if (!loaded.ok) throw new ConfigError(loaded.diagnostics);
    const daemon = new Daemon(options, loaded.config);
    try {
      await daemon.begin();
    } catch (error) {
      await daemon.halt();
      throw error;
    }
    return daemon;
  }

  private async begin(): Promise<void> {
    const { settings } = this.config;
    this.address = await listen(this.server, this.options.listen ?? settings.listen);
    const historyProblem = await this.openHistory();
    await this.apply(this.config, false);
    this.metrics.configLoaded(true, this.options.clock.now());
    this.scheduler.start();
    this.resources.start();
    this.alerting.start();
    const unread = [this.health.problem, this.alerting.stateProblem, this.heartbeats.problem, historyProblem].filter((p) => p !== undefined);
    for (const { problem, lost } of unread) this.logger.error({ problem, lost: lost.length }, 'state directory problem');
    this.selfAlerts.stateLost(unread);
    this.health.start();
    this.store?.start();
    this.warmBrowser();
    this.state = 'running';
    this.selfHeartbeat.configure(settings.selfHeartbeat);
    const listening = `${this.address.host}:${this.address.port}`;
    const shard = settings.shard.count > 1 ? { shard: `${settings.shard.index}/${settings.shard.count}`, probes_defined: this.config.probesDefined } : {};
    this.logger.info({ listen: listening, location: settings.location, probes: this.config.probes.length, ...shard, config: this.config.configFile }, 'flowprobe started');
    this.warnIfNoReceiver();
  }

  /** Re-reads config and probes. A bad config keeps the running one and says why. Reloads run
   * one at a time, and a burst of them (a SIGHUP storm) costs at most one more: a reload asked
   * for while one waits to start is that one, which reads the files as they are then. */
  reload(): Promise<{ ok: boolean; diagnostics: Diagnostic[] }> {
    if (this.waitingReload) return this.waitingReload;
    const next = this.reloadTail.then(() => {
      this.waitingReload = undefined;
      return this.reloadNow();
    });
    this.waitingReload = next;
    this.reloadTail = next.catch(() => undefined);
    return next;
  }

  private waitingReload: Promise<{ ok: boolean; diagnostics: Diagnostic[] }> | undefined;
  private reloadTail: Promise<unknown> = Promise.resolve();

  private async reloadNow(): Promise<{ ok: boolean; diagnostics: Diagnostic[] }> {
    // Compiled in slices: probing, /healthz and /metrics go on while thousands of probes load.
    const loaded = await loadConfigSliced(this.options.configFile, { env: this.options.env, probesDir: this.options.probesDir, stateDir: this.options.stateDir });
    const at = this.options.clock.now();
    if (!loaded.ok) {
      const problems = loaded.diagnostics.map(formatDiagnostic);
      this.lastReload = { at, ok: false, problems };
      this.metrics.configLoaded(false, at);
      this.logger.error({ problems }, `reload failed: keeping the running configuration (${problems.length} problem(s))`);
      return { ok: false, diagnostics: loaded.diagnostics };
    }
    // Against what runs, not the last reload: a value changed back needs no restart.
    for (const key of ['listen', 'location', 'stateDir'] as const) {
      if (loaded.config.settings[key] !== this.startSettings[key]) this.logger.warn({ key }, `${key} changed: takes effect after a restart`);
    }
    for (const key of ['maxConcurrent', 'spreadStep'] as const) {
      if (loaded.config.settings.scheduler[key] !== this.startSettings.scheduler[key]) this.logger.warn({ key: `scheduler.${key}` }, `scheduler.${key} changed: takes effect after a restart`);
    }
    const [was, now] = [this.config.settings.shard, loaded.config.settings.shard];
    if (was.index !== now.index || was.count !== now.count) this.logger.warn({ shard: `${now.index}/${now.count}` }, 'shard changed: its probes move now; the metrics keep their shard label until a restart');
    await this.apply(loaded.config, true);
    this.lastReload = { at, ok: true, problems: [] };
    this.metrics.configLoaded(true, at);
    this.logger.info({ probes: loaded.config.probes.length }, 'configuration reloaded');
    this.warmBrowser();
    this.warnIfNoReceiver();
    return { ok: true, diagnostics: [] };
  }

  private async apply(config: Config, reloading: boolean): Promise<void> {
    const previous = this.specs;
    this.config = config;
    this.redact = createRedactor(config.secrets);
    this.logger.level = this.options.logLevel ?? config.settings.log.level;
    this.history.setLimits(config.settings.history);
    this.store?.setRetention(retention(config.settings.history.keep));
    // An unchanged probe keeps its spec object: a run in flight during the reload still belongs
    // to it and is recorded (a changed or removed probe's run is dropped).
    this.specs = new Map(config.probes.map((spec) => [spec.name, previous.get(spec.name)?.fingerprint === spec.fingerprint ? (previous.get(spec.name) as ProbeSpec) : spec]));
    // A probe that is gone, or now of another kind, leaves no series (or results) behind.
    const gone = new Set([...previous].filter(([name, was]) => this.specs.get(name)?.kind !== was.kind).map(([name]) => name));
    for (const name of gone) (this.history.forget(name), this.screenshots.delete(name));
    await this.metrics.forgetProbes(gone);
    await this.metrics.declareProbes(config.probes);
    this.health.configure(config.settings.detect, config.probes);
    if (reloading) this.alerting.configure(config.settings.alerting);
    for (const receiver of config.settings.alerting.receivers) this.metrics.declareReceiver(receiver.name);
    this.resources.configure(config.settings.resources);
    this.heartbeats.configure(config.probes.filter((spec) => spec.kind === 'heartbeat').map((spec) => spec.name));
    if (reloading) this.selfHeartbeat.configure(config.settings.selfHeartbeat);
    this.scheduler.update([...this.specs.values()].map((spec) => this.jobFor(spec)));
  }

  /** A monitor that cannot alert must say so where someone reads it (the log; /alerts; check). */
  private warnIfNoReceiver(): void {
    if (this.config.settings.alerting.receivers.length === 0 && this.config.probes.length > 0) this.logger.warn({ probes: this.config.probes.length }, NO_RECEIVER);
  }

  private jobFor(spec: ProbeSpec): Job {
    return {
      name: spec.name,
      schedule: spec.schedule,
      timeoutMs: spec.timeoutMs,
      run: async ({ slot, startedAt, signal }) => {
        const result = this.resources.judge(await runProbe(spec, { signal, runId: randomUUID(), redact: this.redact, pings: (name) => this.heartbeats.get(name), now: () => this.options.clock.now(), browser: this.browser, screenshot: (shot) => this.screenshots.set(shot.probe, shot) }, { slot, startedAt }));
        // A run that outlived its probe's removal (or was cut short by shutdown) is not recorded.
        if (this.specs.get(spec.name) !== spec) return;
        if (!result.ok && result.failure.code === 'inconclusive' && this.state === 'stopping') return;
        this.record(result);
      },
    };
  }

  /** Health transitions become alert events (and, when most probes fail at once, one
   * probe-side alert before them), metrics, log lines and timeline entries. */
  private onTransitions(transitions: Transition[]): void {
    const { location, alerting } = this.config.settings;
    const touchesFailing = transitions.some((t) => t.to === 'failing' || t.from === 'failing');
    this.alerting.handle([
      ...(touchesFailing ? this.selfAlerts.probeSideEvents(this.config.probes.map(({ name }) => this.failingNow(name)), alerting.probeSide) : []),
      ...transitions.flatMap((t) => eventsFromTransition(t, this.probeInfo(t.probe), location, alerting.severity)),
    ]);
    for (const t of transitions) (this.metrics.recordTransition(t), logTransition(this.logger, t), this.history.noteTransition(t), this.toStore((store) => store.transition(redactDeep(t, this.redact))), this.site.live.changed(t.probe));
  }

  private failingNow(probe: string): { failing: boolean; lastCode: string | undefined } {
    const last = this.history.last(probe);
    return { failing: this.health.state(probe)?.health === 'failing', lastCode: last && !last.ok ? last.failure.code : undefined };
  }

  private probeInfo(probe: string) {
    const spec = this.specs.get(probe);
    const last = this.history.last(probe);
    const shot = this.screenshots.get(probe);
    return { kind: spec?.kind ?? 'unknown', labels: spec?.labels ?? {}, checks: last?.checks ?? [], lastError: last && !last.ok ? `${last.failure.code}: ${last.failure.message}` : undefined, screenshot: shot && shot.runId === last?.runId ? `probes/${encodeURIComponent(probe)}/screenshot.jpg` : undefined };
  }

  /** Opens the history store (history.store: sqlite or postgres); a SQLite file that cannot be
   * read is moved aside (the problem is returned for the state-lost alert); a store that cannot
   * be opened at all (a full disk, PostgreSQL down) is tried again every 10 s while the daemon
   * probes, alerted, holding what it is to be told. */
  private async openHistory(): Promise<{ problem: string; lost: string[] } | undefined> {
    const { settings } = this.config;
    const { history } = settings;
    if (history.store === 'none' || this.state === 'stopping' || this.state === 'stopped') return undefined;
    this.storeRetry = undefined;
    const target: StoreTarget = history.store === 'postgres' && history.postgres ? { engine: 'postgres', url: history.postgres.url } : { engine: 'sqlite', file: path.join(settings.stateDir, 'history.db') };
    const file = target.engine === 'sqlite' ? target.file : whereOf(target.url);
    try {
      const opened = await openStore({
        target,
        owns: (probe) => this.specs.has(probe),
        location: settings.location,
        shard: `${settings.shard.index}/${settings.shard.count}`,
        keep: retention(settings.history.keep),
        clock: this.options.clock,
        // A batch written again does not resolve the state alert: the JSON state files may
        // still fail, and their next save (every 5 s while in trouble) says when all is well.
        onWrite: (err) => (err === undefined ? this.logger.info({ file }, 'history written again') : this.stateUnwritable('history', err, file)),
      });
      this.store = opened.store;
      if (this.state === 'running') this.store.start();
      for (const replay of this.storeBacklog) replay(this.store);
      this.storeBacklog = [];
      return opened.problem;
    } catch (err) {
      if (err instanceof NewerSchemaError) {
        this.logger.error({ err, file }, 'the history database is of a newer release: running without history');
        this.stateFailing(err.message);
        this.historyRefused = true;
        return undefined;
      }
      this.logger.error({ err, file }, 'cannot open the history database: runs are kept in memory (bounded) and it is tried again every 10 s');
      this.stateFailing(`cannot open ${file}: ${(err as Error).message}`);
      this.storeRetry = this.options.clock.setTimer(10_000, () => void this.openHistory());
      return undefined;
    }
  }

  private historyRefused = false;

  /** The shared Chromium, started by the first browser run (never without browser probes). */
  private chromium: Chromium | undefined;
  private readonly browser = (): Chromium => (this.chromium ??= new Chromium(this.config.settings.browser));
  /** With a browser probe (or a flow with a browser step) configured, Chromium starts now, not
   * in the first run's time. */
  private warmBrowser(): void {
    if (this.config.probes.some((p) => p.kind === 'browser' || (p.kind === 'flow' && p.steps.some((step) => 'browser' in step)))) this.browser().warm();
  }

  /** The newest failed or degraded browser leg's screenshot of each probe. */
  private readonly screenshots = new Map<string, Screenshot>();

  /** Into the history store, or into the backlog while it cannot be opened. */
  private toStore(write: (store: HistoryStore) => void): void {
    if (this.store) return write(this.store);
    if (this.config.settings.history.store === 'none' || this.historyRefused) return;
    this.storeBacklog.push(write);
    if (this.storeBacklog.length > MAX_STORE_BACKLOG) this.storeBacklog.splice(0, this.storeBacklog.length - MAX_STORE_BACKLOG);
  }

  /** A result into the history store, redacted. */
  private keep(result: ProbeResult): void {
    const run = storedRun(result, this.redact);
    if (run) this.toStore((store) => store.add(run));
  }

  private stateUnwritable(what: 'alerts' | 'detector' | 'heartbeats' | 'history', err: unknown, file: string): void {
    this.metrics.stateWriteFailed(what);
    this.logger.error({ err, file }, what === 'alerts' ? 'cannot write the alert outbox: notifications are kept in memory until it can' : what === 'heartbeats' ? 'cannot save heartbeat pings: kept in memory until it can' : what === 'history' ? 'cannot write the history database: runs are queued in memory (bounded) until it can' : 'cannot save detector state');
    this.stateFailing(`cannot write ${file}: ${(err as Error).message}`);
  }

  /** The state directory is unusable: one alert (from memory), no crash, saves retried sooner. */
  private stateFailing(problem: string): void {
    if (this.selfAlerts.stateFailing(problem)) this.health.scheduleSave();
  }

  private stateWritten(): void {
    if (this.selfAlerts.stateWritten()) this.health.scheduleSave();
  }

  /** Stops scheduling, lets runs finish within the grace period, then aborts them. */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    const grace = this.config.settings.shutdownGrace;
    this.logger.info({ in_flight: this.scheduler.inFlight, grace: formatDuration(grace) }, 'stopping');
    await this.scheduler.stop(grace);
    await this.halt();
    this.logger.info('stopped');
    this.logger.flush();
  }

  /** Writes the detector state and the outbox now, synchronously (a second stop signal). */
  saveState(): void {
    // The alert state first: the detector's must never be newer on disk.
    this.alerting.saveNow();
    this.health.saveNow();
    this.heartbeats.saveNow();
    this.logger.flush();
  }

  /** Stops every part that may have started (after stop's grace, or a failed start). */
  private async halt(): Promise<void> {
    this.state = 'stopping';
    await this.scheduler.stop(0);
    this.resources.stop();
    this.selfAlerts.stop();
    this.selfHeartbeat.stop();
    this.heartbeats.stop();
    this.alerting.stop();
    this.health.stop();
    this.storeRetry?.cancel();
    const store = this.store;
    this.store = undefined;
    if (store) {
      // Bounded: a store that does not answer (PostgreSQL unreachable) does not hold up the stop.
      const closed: { unwritten: number } | 'late' | Error = await Promise.race([store.close(), new Promise<'late'>((resolve) => setTimeout(resolve, STORE_CLOSE_MS, 'late').unref())]).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      if (closed === 'late') this.logger.error({ queued: store.health().queued }, `the history store did not close within ${STORE_CLOSE_MS / 1000} s: its last batch is not written`);
      else if (closed instanceof Error) this.logger.error({ err: closed }, 'cannot write the last history batch');
      else if (closed.unwritten > 0) this.logger.error({ unwritten: closed.unwritten, problem: store.health().problem }, 'the last history batch could not be written: these runs are lost');
    }
    await this.chromium?.close();
    this.site.close();
    if (this.server.listening) await new Promise<void>((resolve) => (this.server.close(() => resolve()), this.server.closeAllConnections()));
    this.state = 'stopped';
  }

  private statusInputs(): StatusInputs {
    const { config, history, startedAt, lastReload } = this;
    return { config, version: this.options.version, startedAt, lastReload, now: this.options.clock.now(), history, store: this.store, detector: this.health.detectorView, resources: this.resources.readingsNow() };
  }
}

/** Runs, transitions and notifications held while the history store cannot be opened: at one
 * probe a second, about 16 hours. */
const MAX_STORE_BACKLOG = 60_000;
/** How long the stop waits for the history store's last batch. */
const STORE_CLOSE_MS = 5_000;

function retention(keep: Config['settings']['history']['keep']) {
  return { runsMs: keep.runs, hourlyMs: keep.hourly, dailyMs: keep.daily, incidentsMs: keep.incidents };
}
