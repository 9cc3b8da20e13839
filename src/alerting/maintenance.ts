// Maintenance windows (cron + duration) and silences (from the API) mute notifications; they
// never stop probing, and an alert muted while firing is not re-paged when the mute ends.
// A silence is validated and compiled where it enters — the API body or the state file — by
// one schema, so a silence that is stored can always be evaluated.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { duration, labelMatchers, text } from '../config/fields.js';
import { epochMs } from '../detect/state-file.js';
import type { MaintenanceWindow } from '../config/schema.js';

/** Control characters other than tab and line breaks: a NUL reached /alerts as it was. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export const SILENCE_LIMITS = { count: 1_000, commentChars: 1_000, maxDurationMs: 90 * 86_400_000 } as const;

/** A silence as the API takes it: what to mute, for how long, and why. */
export const silenceInput = z.strictObject({
  matchers: labelMatchers().refine((m) => m.size > 0, { error: 'expected at least one matcher, like {"probe": "api"}' }),
  duration: duration(1_000, SILENCE_LIMITS.maxDurationMs),
  comment: text(SILENCE_LIMITS.commentChars, 'a comment saying why')
    .refine((c) => c.trim() !== '', { error: 'expected a comment saying why' })
    .refine((c) => !CONTROL.test(c), { error: 'expected a comment without control characters (NUL, escapes)' }),
  createdBy: text(200, 'who created it').refine((c) => !CONTROL.test(c), { error: 'expected a name without control characters' }).default('api'),
});
export type SilenceInput = z.output<typeof silenceInput>;

/** A silence as stored in the state file (and shown by the API). */
export const silenceSchema = z.strictObject({
  id: text(100),
  matchers: labelMatchers(),
  startsAt: epochMs(),
  endsAt: epochMs(SILENCE_LIMITS.maxDurationMs + 86_400_000),
  comment: text(SILENCE_LIMITS.commentChars),
  createdBy: text(200),
});
export type Silence = z.output<typeof silenceSchema>;

export function newSilence(input: SilenceInput, now: number): Silence {
  // Whole milliseconds: what the state file holds (a clock with sub-millisecond precision gave
  // fractions that the loader once refused, losing the outbox with them).
  const startsAt = Math.round(now);
  return { id: randomUUID(), matchers: input.matchers, startsAt, endsAt: startsAt + input.duration, comment: input.comment, createdBy: input.createdBy };
}

/** Whether a maintenance window is open at `now`: its last start was less than `duration` ago. */
export function windowOpen(window: MaintenanceWindow, now: number): boolean {
  return window.schedule.next(now - window.duration) <= now;
}

/** Why `labels` are muted at `now`, or undefined when they are not. */
export function mutedBy(labels: Readonly<Record<string, string>>, now: number, windows: readonly MaintenanceWindow[], silences: readonly Silence[]): string | undefined {
  for (const w of windows) if (w.match.matches(labels) && windowOpen(w, now)) return `maintenance ${w.name}`;
  for (const s of silences) if (s.startsAt <= now && now < s.endsAt && s.matchers.matches(labels)) return `silence ${s.id}`;
  return undefined;
}

