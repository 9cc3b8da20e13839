// The durable outbox and everything alerting must not forget across a crash: alerts, what was
// notified to whom (the notification log), notifications queued per receiver, silences. Every
// change is written (fsynced, renamed) before it counts: a notification is queued only once
// it is on disk.
import { z } from 'zod';
import type { StateFile } from '../detect/state-file.js';
import type { Alert, Notification } from './alert.js';
import { silenceSchema } from './maintenance.js';

// The state file's shape, checked on load like any other input: a file that is valid JSON but
// not this shape is moved aside, never half-used.
const time = z.number().finite().nonnegative();
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

export const alertingStateSchema = z.strictObject({
  alerts: z.record(z.string(), alertSchema),
  nflog: z.record(z.string(), nflogSchema),
  queue: z.array(z.object({ notification: notificationSchema, attempts: z.number().int().nonnegative(), nextAttemptAt: time })),
  silences: z.array(silenceSchema),
});

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

export class Outbox {
  readonly state: AlertingState;

  constructor(private readonly file: StateFile<AlertingState>) {
    this.state = file.load() ?? { alerts: {}, nflog: {}, queue: [], silences: [] };
  }

  /** Writes everything; throws if it cannot (the caller decides how loudly to fail). */
  save(): void {
    this.file.save(this.state);
  }

  enqueue(notification: Notification, now: number): void {
    this.state.queue.push({ notification, attempts: 0, nextAttemptAt: now });
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
