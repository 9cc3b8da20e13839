// The pings heartbeat probes were sent, kept by the daemon: the last one of each heartbeat
// (when, ok or failed, how long the job said it ran, its message), since when the heartbeat is
// known, and a rate limit per heartbeat. Saved to heartbeats.json in the state directory (a
// restart must not forget a ping and page for a job that did check in), read back through a
// validating schema record by record.
import { z } from 'zod';
import { DAY_MS, duration } from '../../config/fields.js';
import type { Clock, Timer } from '../../scheduler/clock.js';
import { epochMs, keepRecords, StateFile } from '../../detect/state-file.js';

export interface Ping {
  at: number;
  status: 'ok' | 'fail';
  /** How long the job said it ran (?duration=). */
  durationMs: number | undefined;
  /** What it said (?msg=), at most 2,000 characters, control characters as spaces. */
  message: string | undefined;
}

export interface PingRecord {
  /** When the heartbeat became known: its first ping is due from then. */
  since: number;
  last: Ping | undefined;
  /** Pings accepted in all. */
  pings: number;
}

/** A ping's message is refused above this, never cut: a cut before redaction could leave part
 * of a secret the message carried (run-probe redacts, then shortens, what a headline shows). */
const MESSAGE_MAX = 2_000;

/** A ping's query (?status=fail&duration=12m&msg=…), parsed at the edge. */
export const pingQuery = z.strictObject({
  status: z.enum(['ok', 'fail'], { error: 'expected status=ok or status=fail' }).default('ok'),
  duration: duration(0, 30 * DAY_MS).optional(),
  msg: z.string().max(MESSAGE_MAX, { error: `expected a msg of at most ${MESSAGE_MAX} characters` }).optional(),
});
export type PingQuery = z.output<typeof pingQuery>;

/** A burst of pings is cut to this many, then one a second (a job in a loop must not fill the disk or the log). */
const BURST = 10;
const REFILL_MS = 1_000;

const pingSchema = z.strictObject({
  at: epochMs(),
  status: z.enum(['ok', 'fail']),
  durationMs: z.number().finite().min(0).max(30 * DAY_MS).optional(),
  message: z.string().max(MESSAGE_MAX).optional(),
});
const recordSchema = z.strictObject({ since: epochMs(), last: pingSchema.optional(), pings: z.number().int().min(0) });
const stateSchema = z.strictObject({ version: z.literal(1), heartbeats: z.record(z.string().max(100), recordSchema) });
type State = z.output<typeof stateSchema>;

export class HeartbeatBook {
  private records = new Map<string, PingRecord>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly file: StateFile<State>;
  private saveTimer: Timer | undefined;

  constructor(
    file: string,
    private readonly clock: Clock,
    private readonly onSaveError: (err: unknown) => void,
  ) {
    this.file = new StateFile(file, stateSchema, (raw) => {
      const lost: string[] = [];
      const heartbeats = keepRecords((raw as { heartbeats?: unknown } | null)?.heartbeats, recordSchema, 'heartbeat', lost);
      return { value: { version: 1, heartbeats }, lost };
    });
    const saved = this.file.load();
    for (const [name, record] of Object.entries(saved?.heartbeats ?? {})) this.records.set(name, fromSaved(record));
  }

  /** What the load could not read, for the daemon's "state could not be read" alert. */
  get problem(): { problem: string; lost: string[] } | undefined {
    return this.file.problem === undefined && this.file.lost.length === 0 ? undefined : { problem: this.file.problem ?? `some of ${this.file.file} could not be read`, lost: this.file.lost };
  }

  /** The heartbeats configured now: a new one is known from now, a removed one forgotten. */
  configure(names: readonly string[]): void {
    const now = this.clock.now();
    const wanted = new Set(names);
    let changed = false;
    for (const name of [...this.records.keys()]) if (!wanted.has(name)) (this.records.delete(name), (changed = true));
    for (const name of wanted) if (!this.records.has(name)) (this.records.set(name, { since: now, last: undefined, pings: 0 }), (changed = true));
    if (changed) this.scheduleSave();
  }

  get(name: string): PingRecord | undefined {
    return this.records.get(name);
  }

  /** Records a ping, or says how long to wait when the heartbeat's burst is spent. */
  ping(name: string, query: PingQuery): { accepted: true; record: PingRecord } | { accepted: false; retryAfterMs: number } {
    const now = this.clock.now();
    const bucket = this.buckets.get(name) ?? { tokens: BURST, at: now };
    bucket.tokens = Math.min(BURST, bucket.tokens + (now - bucket.at) / REFILL_MS);
    bucket.at = now;
    this.buckets.set(name, bucket);
    if (bucket.tokens < 1) return { accepted: false, retryAfterMs: Math.ceil((1 - bucket.tokens) * REFILL_MS) };
    bucket.tokens -= 1;
    const record = this.records.get(name) ?? { since: now, last: undefined, pings: 0 };
    const message = query.msg?.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim() || undefined;
    record.last = { at: now, status: query.status, durationMs: query.duration, message };
    record.pings += 1;
    this.records.set(name, record);
    this.scheduleSave();
    return { accepted: true, record };
  }

  /** Saves within a second of a change (a burst of pings is one write). */
  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = this.clock.setTimer(1_000, () => {
      this.saveTimer = undefined;
      this.saveNow();
    });
  }

  saveNow(): void {
    if (this.saveTimer) (this.saveTimer.cancel(), (this.saveTimer = undefined));
    const heartbeats: State['heartbeats'] = {};
    for (const [name, r] of this.records) heartbeats[name] = { since: r.since, pings: r.pings, ...(r.last ? { last: toSaved(r.last) } : {}) };
    try {
      this.file.save({ version: 1, heartbeats });
    } catch (error) {
      this.onSaveError(error);
    }
  }

  stop(): void {
    if (this.saveTimer) this.saveNow();
  }
}

function toSaved(p: Ping): z.input<typeof pingSchema> {
  return { at: p.at, status: p.status, ...(p.durationMs === undefined ? {} : { durationMs: p.durationMs }), ...(p.message === undefined ? {} : { message: p.message }) };
}

function fromSaved(r: z.output<typeof recordSchema>): PingRecord {
  return { since: r.since, pings: r.pings, last: r.last ? { at: r.last.at, status: r.last.status, durationMs: r.last.durationMs, message: r.last.message } : undefined };
}
