// One sender per receiver, delivering its queue in order, one at a time: retries with
// exponential backoff (or the receiver's Retry-After), gives up on what will never work
// (4xx other than 429, SMTP 5xx). A receiver that is down delays only its own queue.
import type { Clock, Timer } from '../scheduler/clock.js';
import type { Notification } from './alert.js';
import type { Outbox, Queued } from './outbox.js';
import type { Delivery, Receiver } from './receivers/receiver.js';
import { shorten } from '../probers/checks.js';

export interface SenderOptions {
  clock: Clock;
  outbox: Outbox;
  retry: { initial: number; max: number };
  timeoutMs: number;
  /** Removes secrets from what a receiver answered, before it is cut, logged or alerted on. */
  redact: (text: string) => string;
  /** Told of every attempt, after the outbox reflects it. */
  onAttempt: (receiver: string, notification: Notification, delivery: Delivery, attempts: number) => void;
  /** Persisting failed: the entry stays in memory and is retried with the next change. */
  onSaveError: (error: unknown) => void;
}

export class Sender {
  private timer: Timer | undefined;
  private busy = false;
  private stopped = false;
  /** Aborts a delivery in flight when the sender stops (shutdown): it stays in the outbox. */
  private readonly stopping = new AbortController();

  constructor(
    readonly receiver: Receiver,
    private readonly options: SenderOptions,
  ) {}

  /** Looks at the queue: delivers the head if it is due, or waits until it is. */
  kick(): void {
    if (this.busy || this.stopped) return;
    this.timer?.cancel();
    this.timer = undefined;
    const head = this.options.outbox.head(this.receiver.name);
    if (!head) return;
    const wait = head.nextAttemptAt - this.options.clock.now();
    if (wait > 0) {
      this.timer = this.options.clock.setTimer(wait, () => this.kick());
      return;
    }
    this.busy = true;
    void this.deliver(head).finally(() => {
      this.busy = false;
      this.kick();
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.stopping.abort();
  }

  private async deliver(entry: Queued): Promise<void> {
    const { outbox, clock } = this.options;
    // The delivery's deadline is a timer this sender holds and clears. An AbortSignal.timeout()
    // inside AbortSignal.any() can be garbage-collected before it fires (a known Node behaviour):
    // a receiver that accepted the request and never answered then held its queue for ever.
    // It runs on real time, as the network does, whatever clock drives the schedule (a test's
    // fake clock stepping faster than an SMTP exchange timed deliveries out that had succeeded).
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new DOMException('delivery timeout', 'TimeoutError')), this.options.timeoutMs);
    const onStop = () => controller.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    outbox.inFlight.add(entry.notification.id);
    const delivery = await this.receiver
      .send(entry.notification, controller.signal)
      .then((d): Delivery => (d.ok ? d : { ...d, message: shorten(this.options.redact(d.message), MESSAGE_CHARS) }))
      .catch((error: unknown): Delivery => ({ ok: false, retry: true, retryAfterMs: undefined, reason: 'internal', message: shorten(this.options.redact(`receiver error: ${String(error)}`), MESSAGE_CHARS) }))
      .finally(() => {
        clearTimeout(deadline);
        this.stopping.signal.removeEventListener('abort', onStop);
        outbox.inFlight.delete(entry.notification.id);
      });
    entry.attempts++;
    if (delivery.ok || !delivery.retry) outbox.remove(entry.notification.id);
    else entry.nextAttemptAt = clock.now() + (delivery.retryAfterMs ?? backoff(entry.attempts, this.options.retry));
    // Written with whatever else changed in this turn: off the hot path, and a crash before it
    // only repeats this attempt.
    outbox.saveSoon((error) => this.options.onSaveError(error));
    this.options.onAttempt(this.receiver.name, entry.notification, delivery, entry.attempts);
  }
}

/** What is kept of a receiver's answer, once its secrets are gone. */
const MESSAGE_CHARS = 200;

/** initial, 2×initial, 4×initial, … capped at max. */
export function backoff(attempts: number, retry: { initial: number; max: number }): number {
  return Math.min(retry.max, retry.initial * 2 ** Math.max(0, attempts - 1));
}
