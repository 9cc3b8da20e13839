// The durable outbox and everything alerting must not forget across a crash: alerts, what was
// notified to whom (the notification log), notifications queued per receiver, silences. Every
// change is written (fsynced, renamed) before it counts: a notification is queued only once
// it is on disk.
import { z } from 'zod';
import { epochMs, keepItems, keepRecords, type Salvage, type StateFile } from '../detect/state-file.js';
import type { Clock, Timer } from '../scheduler/clock.js';
import type { Alert, Notification } from './alert.js';
import { silenceSchema } from './maintenance.js';

// The state file's shape, checked on load like any other input: a record that does not pass is
// dropped and named (salvageAlertingState), the others are kept; a file without the outline is
// moved aside. Times are bounded: a notification waits at most a day for a retry, a silence
// lasts at most 90 days.
const time = epochMs();
const labels = z.record(z.string(), z.string());
const alertSchema = z.object({
  fingerprint: z.string(),
  labels,
  summary: z.string(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), degraded: z.boolean().optional(), expected: z.string(), observed: z.string() })),
  evidence: z.record(z.string(), z.union([z.string(), z.number()])),
  status: z.enum(['firing', 'resolved']),
  startsAt: time,
  endsAt: time.optional(),
  durationMs: z.number().finite().optional(),
  changedAt: time.optional(),
  coveredBy: labels.optional(),
});
const notificationSchema = z.object({
  id: z.string(),
  receiver: z.string(),
  groupKey: z.string(),
  groupLabels: labels,
  status: z.enum(['firing', 'resolved']),
  alerts: z.array(alertSchema),
  externalUrl: z.string().optional(),
  createdAt: time,
  test: z.boolean(),
});
const nflogSchema = z.object({ firing: z.array(z.string()), sentAt: time });
const queuedSchema = z.object({ notification: notificationSchema, attempts: z.number().int().nonnegative(), nextAttemptAt: time });

export const alertingStateSchema = z.strictObject({
  alerts: z.record(z.string(), alertSchema),
  nflog: z.record(z.string(), nflogSchema),
  queue: z.array(queuedSchema),
  silences: z.array(silenceSchema),
});

/** alerts.json record by record: a bad silence costs that silence, not the outbox. */
export const salvageAlertingState: Salvage<AlertingState> = (raw) => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (!['alerts', 'nflog', 'queue', 'silences'].some((key) => key in r)) return undefined;
  const lost: string[] = [];
  const value: AlertingState = {
    alerts: keepRecords(r.alerts, alertSchema, 'alert', lost) as Record<string, Alert>,
    nflog: keepRecords(r.nflog, nflogSchema, 'notification log', lost),
    queue: keepItems(r.queue, queuedSchema, 'queued notification', lost, (q) => nameOf(q, 'notification', 'id')) as Queued[],
    silences: keepItems(r.silences, silenceSchema, 'silence', lost, (s) => nameOf(s, 'id')),
  };
  return { value, lost };
};

function nameOf(value: unknown, ...path: string[]): string {
  let at: unknown = value;
  for (const key of path) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
  return typeof at === 'string' ? ` (${at.slice(0, 60)})` : '';
}

export interface Queued {
  notification: Notification;
  attempts: number;
  nextAttemptAt: number;
}

export type NotificationLog = z.output<typeof nflogSchema>;

export interface AlertingState {
  alerts: Record<string, Alert>;
  nflog: Record<string, NotificationLog>;
  queue: Queued[];
  silences: z.output<typeof silenceSchema>[];
}

/** Under a stream of changes, the state is written at most once this often (with the detector's
 * right after it): four writes a second, each of the whole state and fsynced, instead of one per
 * change. What a crash can lose is the last quarter second of changes, never a page without its
 * state (bench:backlog, docs/benchmarks.md). */
export const SAVE_BATCH_MS = 250;

/** Queued notifications per receiver, at most: past it the oldest firing-only ones go first. */
export const MAX_QUEUED_PER_RECEIVER = 200;

/** What an enqueue did to what was waiting: newer states replace older ones of the same group
 * (superseded); past the cap the oldest are dropped (overflow). */
export interface EnqueueOutcome {
  superseded: number;
  overflow: number;
}

export class Outbox {
  readonly state: AlertingState;
  /** Notifications being delivered right now: never replaced or dropped under the sender. */
  readonly inFlight = new Set<string>();
  /** A write to come (write-behind), and what waits for it: senders with a notification that
   * counts as queued only once it is on disk, and the detector's state, which must never be
   * newer on disk than the alert state its transitions made. */
  private write: { timer: Timer; after: Array<() => void>; onError: (error: unknown) => void } | undefined;
  private dirty = false;
  private lastWriteAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly file: StateFile<AlertingState>,
    private readonly clock: Clock,
  ) {
    this.state = file.load() ?? { alerts: {}, nflog: {}, queue: [], silences: [] };
  }

  /** Writes everything now (and runs what waited for the write); throws if it cannot (the
   * caller decides how loudly to fail). */
  save(): void {
    const waiting = this.write;
    waiting?.timer.cancel();
    this.write = undefined;
    this.dirty = false;
    this.lastWriteAt = this.clock.now();
    try {
      this.file.save(this.state);
    } finally {
      for (const fn of waiting?.after ?? []) fn();
    }
  }

  /** Writes soon: at once (next turn) after a quiet spell, and at most once every SAVE_BATCH_MS
   * under a stream of changes, once for all of them: 300 probes flapping every second made 300
   * writes (and fsyncs) of the whole state a second, and starved probing. A crash before the
   * write loses the changes and what waited for them alike — never one without the other. */
  saveSoon(onError: (error: unknown) => void): void {
    this.dirty = true;
    this.schedule(onError);
  }

  /** Writes now if a write is waiting (shutdown). */
  saveIfPending(): void {
    if (this.write) this.save();
  }

  /** Runs `fn` right after the next write (at once after it, in the same turn). */
  whenSaved(fn: () => void, onError: (error: unknown) => void): void {
    this.schedule(onError).after.push(fn);
  }

  private schedule(onError: (error: unknown) => void): NonNullable<Outbox['write']> {
    if (this.write) return this.write;
    const delay = Math.max(0, this.lastWriteAt + SAVE_BATCH_MS - this.clock.now());
    const timer = this.clock.setTimer(delay, () => {
      const waiting = this.write;
      if (!waiting) return;
      try {
        if (this.dirty) this.save();
        else ((this.write = undefined), waiting.after.forEach((fn) => fn()));
      } catch (error) {
        waiting.onError(error);
      }
    });
    this.write = { timer, after: [], onError };
    return this.write;
  }

  /** Queues a group's current state for a receiver. A page or update that still waits for the
   * same group is replaced — a receiver that was down gets the current state once, not every
   * update — and the replacement keeps its place in the retry schedule. An all-clear is never
   * replaced: it ends an incident, and replacing it with the next incident's page would merge
   * the two in the receiver's view (a slow mail server saw "failing" twice and one "recovered"). */
  enqueue(notification: Notification, now: number): EnqueueOutcome {
    const waiting = (q: Queued) => q.notification.receiver === notification.receiver && !this.inFlight.has(q.notification.id);
    const pageOnly = (q: Queued) => q.notification.alerts.every((a) => a.status === 'firing');
    const older = this.state.queue.filter((q) => waiting(q) && pageOnly(q) && !q.notification.test && q.notification.groupKey === notification.groupKey);
    const schedule = older.reduce((s, q) => ({ attempts: Math.max(s.attempts, q.attempts), nextAttemptAt: Math.max(s.nextAttemptAt, q.nextAttemptAt) }), { attempts: 0, nextAttemptAt: now });
    if (older.length > 0) this.state.queue = this.state.queue.filter((q) => !older.includes(q));
    this.state.queue.push({ notification, ...schedule });
    return { superseded: older.length, overflow: this.trim(notification.receiver) };
  }

  /** Keeps a receiver's queue under the cap: the oldest notifications that resolve nothing go
   * first (a resolved is what tells on-call an incident is over), then the oldest. */
  private trim(receiver: string): number {
    let dropped = 0;
    for (;;) {
      const mine = this.state.queue.filter((q) => q.notification.receiver === receiver && !this.inFlight.has(q.notification.id));
      if (mine.length <= MAX_QUEUED_PER_RECEIVER) return dropped;
      const victim = mine.find((q) => q.notification.alerts.every((a) => a.status === 'firing')) ?? (mine[0] as Queued);
      this.state.queue.splice(this.state.queue.indexOf(victim), 1);
      dropped++;
    }
  }

  head(receiver: string): Queued | undefined {
    return this.state.queue.find((q) => q.notification.receiver === receiver);
  }

  remove(id: string): void {
    const index = this.state.queue.findIndex((q) => q.notification.id === id);
    if (index >= 0) this.state.queue.splice(index, 1);
  }

  pending(receiver: string): { count: number; oldestCreatedAt: number | undefined } {
    const mine = this.state.queue.filter((q) => q.notification.receiver === receiver);
    return { count: mine.length, oldestCreatedAt: mine[0]?.notification.createdAt };
  }
}
