// The alerting pipeline, stage by stage: events → alerts (state) → route → group + dedup
// (maintenance and silences mute) → durable outbox → one retrying sender per receiver.
// Time comes from the clock; everything that must survive a crash lives in the outbox.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { z } from 'zod';
import type { AlertingConfig } from '../config/schema.js';
import { StateFile } from '../detect/state-file.js';
import type { Clock, Timer } from '../scheduler/clock.js';
import { fingerprint, type Alert, type AlertEvent, type Notification } from './alert.js';
import { decide, groupKeyOf, groupLabelsOf } from './group.js';
import { inhibitedBy } from './inhibit.js';
import { mutedBy, newSilence, SILENCE_LIMITS, type Silence, type SilenceInput } from './maintenance.js';
import { alertingStateSchema, Outbox, salvageAlertingState, type AlertingState } from './outbox.js';
import { buildReceiver } from './receivers/index.js';
import type { Delivery, Receiver } from './receivers/receiver.js';
import { route } from './route.js';
import { isSelfAlert, receiverFailingEvent, SELF_ALERT } from './self-alerts.js';
import { Sender } from './sender.js';
import { redactUrlCredentials } from '../logging/redact.js';

export interface EngineEvents {
  /** A delivery attempt ended (success, retry or give-up). */
  attempt(receiver: string, notification: Notification, delivery: Delivery, attempts: number): void;
  /** A group was notified or held back, and why. */
  decision(groupKey: string, reason: string, alerts: number): void;
  /** The state could not be written: alerting keeps going in memory and says so. */
  saveError(error: unknown): void;
  /** Queued notifications that will not be sent: replaced by their group's newer state
   * (superseded) or dropped past the per-receiver cap (overflow). */
  dropped?(receiver: string, reason: 'superseded' | 'overflow', count: number): void;
}

/** A receiver as /alerts shows it: what it is, what waits for it, how its last attempt went. */
export interface ReceiverStatus {
  name: string;
  kind: string;
  pending: number;
  last: { at: number; ok: boolean; reason: string | undefined; message: string | undefined } | undefined;
}

export interface EngineOptions {
  clock: Clock;
  stateDir: string;
  location: string;
  config: AlertingConfig;
  events: EngineEvents;
  /** Removes secrets from receivers' answers (the daemon's current secrets). */
  redact?: () => (text: string) => string;
  /** For tests: receivers by name instead of building them from config. */
  receivers?: Map<string, Receiver>;
}

export class AlertEngine {
  private config: AlertingConfig;
  private readonly outbox: Outbox;
  private senders = new Map<string, Sender>();
  private groupTimers = new Map<string, { at: number; timer: Timer }>();
  private failingSince = new Map<string, number>();
  private groupCache = new Map<string, string[]>();
  /** Each receiver's last delivery attempt, for /alerts (in memory: since this start). */
  private lastAttempt = new Map<string, ReceiverStatus['last']>();
  private stopped = false;

  /** Why the saved alert state could not be (wholly) used at start, and what was lost. */
  readonly stateProblem: { problem: string; lost: string[] } | undefined;

  constructor(private readonly options: EngineOptions) {
    this.config = options.config;
    const file = new StateFile(path.join(options.stateDir, 'alerts.json'), alertingStateSchema as unknown as z.ZodType<AlertingState, unknown>, salvageAlertingState);
    this.outbox = new Outbox(file, options.clock);
    this.stateProblem = file.problem === undefined ? undefined : { problem: file.problem, lost: file.lost };
    this.configure(options.config, options.receivers);
  }

  /** (Re)builds receivers and senders from config; queued notifications for a receiver that
   * no longer exists are dropped with the receiver. */
  configure(config: AlertingConfig, receivers?: Map<string, Receiver>): void {
    const delivery = (c: AlertingConfig) => JSON.stringify([c.receivers, c.retry, c.timeout]);
    const unchanged = !receivers && this.senders.size > 0 && delivery(config) === delivery(this.config);
    this.config = config;
    this.groupCache.clear();
    // Same receivers: keep the senders, so a delivery in flight is not started a second time.
    if (unchanged) {
      for (const sender of this.senders.values()) sender.kick();
      return;
    }
    for (const sender of this.senders.values()) {
      sender.stop();
      sender.receiver.close?.();
    }
    const built = receivers ?? new Map(config.receivers.map((r) => [r.name, buildReceiver(r, config.timeout)]));
    this.senders = new Map(
      [...built].map(([name, receiver]) => [
        name,
        new Sender(receiver, {
          clock: this.options.clock,
          outbox: this.outbox,
          retry: config.retry,
          timeoutMs: config.timeout,
          redact: (text) => (this.options.redact?.() ?? redactUrlCredentials)(text),
          onAttempt: (r, n, d, attempts) => this.onAttempt(r, n, d, attempts),
          onSaveError: (error) => this.options.events.saveError(error),
        }),
      ]),
    );
  }

  /** Starts delivering what the outbox holds (after a restart, too) and re-evaluates groups. */
  start(): void {
    for (const sender of this.senders.values()) sender.kick();
    for (const groupKey of this.groupKeys()) this.scheduleFlush(groupKey, this.options.clock.now());
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.groupTimers.values()) timer.cancel();
    for (const sender of this.senders.values()) {
      sender.stop();
      sender.receiver.close?.();
    }
    // What waits to be written is written now (and the detector's state right after it).
    try {
      this.outbox.saveIfPending();
    } catch (error) {
      this.options.events.saveError(error);
    }
  }

  /** Merges alert events into the state, persists, and schedules the groups they touch. */
  handle(events: readonly AlertEvent[]): void {
    const touched = new Set<string>();
    let changed = false;
    for (const event of events) {
      const alert = this.apply(event);
      if (!alert) continue;
      changed = true;
      for (const key of this.groupsOf(alert)) touched.add(key);
    }
    if (!changed) return;
    this.saveSoon();
    // An inhibiting alert changed: every group may now owe (or no longer owe) a notification.
    const inhibitor = events.some((e) => isSelfAlert(e.labels, SELF_ALERT.probeSide));
    for (const key of inhibitor ? this.groupKeys() : touched) this.scheduleFlush(key);
  }

  alerts(): Alert[] {
    return Object.values(this.outbox.state.alerts);
  }

  silences(): Silence[] {
    return this.outbox.state.silences.filter((s) => s.endsAt > this.options.clock.now());
  }

  /** Adds a silence (validated and compiled by the caller's schema), unless the cap is reached. */
  addSilence(input: SilenceInput): Silence | { refused: string } {
    const now = this.options.clock.now();
    const active = this.silences();
    if (active.length >= SILENCE_LIMITS.count) return { refused: `${active.length} silences are active, the most allowed: remove one first` };
    const silence = newSilence(input, now);
    this.outbox.state.silences = [...active, silence];
    this.save();
    return silence;
  }

  removeSilence(id: string): boolean {
    const before = this.outbox.state.silences.length;
    this.outbox.state.silences = this.outbox.state.silences.filter((s) => s.id !== id);
    this.save();
    // Alerts muted by it may be due now.
    for (const key of this.groupKeys()) this.scheduleFlush(key);
    return this.outbox.state.silences.length < before;
  }

  pending(receiver: string): { count: number; oldestCreatedAt: number | undefined } {
    return this.outbox.pending(receiver);
  }

  receiverNames(): string[] {
    return [...this.senders.keys()];
  }

  receivers(): ReceiverStatus[] {
    return [...this.senders.values()].map(({ receiver }) => ({ name: receiver.name, kind: receiver.kind, pending: this.pending(receiver.name).count, last: this.lastAttempt.get(receiver.name) }));
  }

  /** What /metrics shows of alerting: each receiver's queue, and the alerts firing now. */
  gauges(): { receivers: Array<{ receiver: string; pending: number; oldestCreatedAt: number | undefined }>; firing: number } {
    const receivers = this.receiverNames().map((receiver) => {
      const { count, oldestCreatedAt } = this.pending(receiver);
      return { receiver, pending: count, oldestCreatedAt };
    });
    return { receivers, firing: this.alerts().filter((a) => a.status === 'firing').length };
  }

  /** Sends one clearly marked test notification straight into a receiver's queue. */
  test(receiver: string): Notification {
    const now = this.options.clock.now();
    const labels = { alertname: 'FlowprobeTest', severity: 'info', location: this.options.location, receiver };
    const alert: Alert = { fingerprint: fingerprint(labels), labels, summary: `Test notification for receiver ${receiver}`, checks: [], evidence: {}, status: 'firing', startsAt: now, endsAt: undefined, durationMs: undefined };
    const notification = this.notification(receiver, { alertname: 'FlowprobeTest' }, [alert], true);
    this.outbox.enqueue(notification, now);
    this.save();
    this.senders.get(receiver)?.kick();
    return notification;
  }

  private apply(event: AlertEvent): Alert | undefined {
    const fp = fingerprint(event.labels);
    const existing = this.outbox.state.alerts[fp];
    if (event.status === 'firing') {
      if (existing?.status === 'firing') {
        // Already firing (say, the same transition again after a restart): nothing new to say —
        // unless its story changed (it flapped), which its group tells.
        if (!event.changed) return undefined;
        const changed: Alert = { ...existing, summary: event.summary, checks: event.checks, evidence: event.evidence, changedAt: this.options.clock.now() };
        this.outbox.state.alerts[fp] = changed;
        return changed;
      }
      // An incident starts at its first failed run, not when enough failures made it one.
      const alert: Alert = { fingerprint: fp, labels: event.labels, summary: event.summary, checks: event.checks, evidence: event.evidence, status: 'firing', startsAt: event.startedAt ?? event.at, endsAt: undefined, durationMs: undefined };
      this.outbox.state.alerts[fp] = alert;
      return alert;
    }
    if (!existing || existing.status === 'resolved') return undefined;
    // The outage's own span when the event knows it (first failure to first good run), so the
    // notification, the status API and the metric tell the same duration.
    const startsAt = event.startedAt ?? existing.startsAt;
    const endsAt = event.endedAt ?? event.at;
    const resolved: Alert = { ...existing, summary: event.summary, evidence: event.evidence, status: 'resolved', endsAt, durationMs: event.durationMs ?? endsAt - startsAt, changedAt: undefined, ...(event.coveredBy ? { coveredBy: event.coveredBy } : {}) };
    this.outbox.state.alerts[fp] = resolved;
    return resolved;
  }

  /** The groups an alert belongs to, by its fingerprint (its labels), worked out once per
   * configuration: every flush looks at every alert, and routing each again per flush was most
   * of the delivery CPU with 300 probes flapping. */
  private groupsOf(alert: Alert): string[] {
    let groups = this.groupCache.get(alert.fingerprint);
    if (!groups) {
      const groupLabels = groupLabelsOf(alert.labels, this.config.group.by);
      groups = route(alert.labels, this.config).filter((r) => this.senders.has(r)).map((receiver) => groupKeyOf(receiver, groupLabels));
      if (this.groupCache.size >= 100_000) this.groupCache.clear();
      this.groupCache.set(alert.fingerprint, groups);
    }
    return groups;
  }

  private groupKeys(): Set<string> {
    const keys = new Set<string>(Object.keys(this.outbox.state.nflog));
    for (const alert of this.alerts()) for (const key of this.groupsOf(alert)) keys.add(key);
    return keys;
  }

  /** Group wait for a group never notified; group interval after that; repeat for still firing. */
  private scheduleFlush(groupKey: string, at?: number): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    const log = this.outbox.state.nflog[groupKey];
    const due = at ?? (log ? Math.max(now, log.sentAt + this.config.group.interval) : now + this.config.group.wait);
    const existing = this.groupTimers.get(groupKey);
    if (existing && existing.at <= due) return;
    existing?.timer.cancel();
    const timer = this.options.clock.setTimer(Math.max(0, due - now), () => {
      this.groupTimers.delete(groupKey);
      this.flush(groupKey);
    });
    this.groupTimers.set(groupKey, { at: due, timer });
  }

  private flush(groupKey: string): void {
    const now = this.options.clock.now();
    const receiver = groupKey.slice(0, groupKey.indexOf(':'));
    const members = this.alerts().filter((a) => this.groupsOf(a).includes(groupKey));
    const log = this.outbox.state.nflog[groupKey];
    const all = this.alerts();
    const decision = decide(members, log, now, this.config.group.repeat, {
      muted: (a) => mutedBy(a.labels, now, this.config.maintenance, this.silences()) ?? inhibitedBy(a, all),
      // One all-clear per incident per receiver: this one's goes with the alert that covers it.
      covered: (a) => a.coveredBy !== undefined && route(a.coveredBy, this.config).includes(receiver),
    });
    if (decision.log) this.outbox.state.nflog[groupKey] = decision.log;
    else delete this.outbox.state.nflog[groupKey];
    this.options.events.decision(groupKey, decision.reason, members.length);
    if (decision.send) {
      const groupLabels = groupLabelsOf((decision.firing[0] ?? decision.resolved[0] as Alert).labels, this.config.group.by);
      const { superseded, overflow } = this.outbox.enqueue(this.notification(receiver, groupLabels, [...decision.firing, ...decision.resolved], false), now);
      if (superseded > 0) this.options.events.dropped?.(receiver, 'superseded', superseded);
      if (overflow > 0) this.options.events.dropped?.(receiver, 'overflow', overflow);
    }
    this.collectGarbage();
    this.saveSoon();
    // A notification counts as queued once it is on disk: its sender starts after the write.
    if (decision.send) this.outbox.whenSaved(() => this.senders.get(receiver)?.kick(), (error) => this.options.events.saveError(error));
    const stillFiring = this.outbox.state.nflog[groupKey]?.firing.length ?? 0;
    if (stillFiring > 0) this.scheduleFlush(groupKey, (this.outbox.state.nflog[groupKey]?.sentAt ?? now) + this.config.group.repeat);
    // A muted alert may become due when its mute ends: look again at the next minute boundary.
    else if (members.some((a) => a.status === 'firing')) this.scheduleFlush(groupKey, now + 60_000);
  }

  /** Resolved alerts no group still has to report are forgotten. */
  private collectGarbage(): void {
    const stillSent = new Set(Object.values(this.outbox.state.nflog).flatMap((l) => l.firing));
    for (const [fp, alert] of Object.entries(this.outbox.state.alerts)) {
      if (alert.status === 'resolved' && !stillSent.has(fp)) delete this.outbox.state.alerts[fp];
    }
  }

  private notification(receiver: string, groupLabels: Record<string, string>, alerts: Alert[], test: boolean): Notification {
    return {
      id: randomUUID(),
      receiver,
      groupKey: groupKeyOf(receiver, groupLabels),
      groupLabels,
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      alerts,
      externalUrl: this.config.externalUrl,
      createdAt: this.options.clock.now(),
      test,
    };
  }

  private onAttempt(receiver: string, notification: Notification, delivery: Delivery, attempts: number): void {
    this.options.events.attempt(receiver, notification, delivery, attempts);
    const now = this.options.clock.now();
    this.lastAttempt.set(receiver, delivery.ok ? { at: now, ok: true, reason: undefined, message: undefined } : { at: now, ok: false, reason: delivery.reason, message: delivery.message });
    const where = { location: this.options.location, severity: this.config.severity };
    if (delivery.ok) {
      this.failingSince.delete(receiver);
      this.handle([receiverFailingEvent(receiver, undefined, where, now)]);
      return;
    }
    if (!this.failingSince.has(receiver)) this.failingSince.set(receiver, now);
    const sinceMs = this.failingSince.get(receiver) as number;
    if (now - sinceMs >= this.config.receiverFailingAfter) {
      this.handle([receiverFailingEvent(receiver, { sinceMs, reason: delivery.reason, message: delivery.message, attempts }, where, now)]);
    }
  }

  /** Writes the outbox now (shutdown). */
  saveNow(): void {
    this.save();
  }

  /** Runs `fn` right after the next write of the alert state: the detector's state is written
   * there, so it is never newer on disk than the alerts its transitions made. */
  afterNextSave(fn: () => void): void {
    this.outbox.whenSaved(fn, (error) => this.options.events.saveError(error));
  }

  private saveSoon(): void {
    this.outbox.saveSoon((error) => this.options.events.saveError(error));
  }

  private save(): void {
    try {
      this.outbox.save();
    } catch (error) {
      this.options.events.saveError(error);
    }
  }
}
