// The durable outbox and everything alerting must not forget across a crash: alerts, what was
// notified to whom (the notification log), notifications queued per receiver, silences. Every
// change is written (fsynced, renamed) before it counts: a notification is queued only once
// it is on disk.
import { StateFile } from '../detect/state-file.js';
import type { Alert, Notification } from './alert.js';
import type { Silence } from './maintenance.js';

export interface Queued {
  notification: Notification;
  attempts: number;
  nextAttemptAt: number;
}

export interface NotificationLog {
  /** Fingerprints sent as firing in the group's last notification. */
  firing: string[];
  sentAt: number;
}

export interface AlertingState {
  alerts: Record<string, Alert>;
  nflog: Record<string, NotificationLog>;
  queue: Queued[];
  silences: Silence[];
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
