// Maintenance windows (cron + duration) and silences (from the API) mute notifications; they
// never stop probing, and an alert muted while firing is not re-paged when the mute ends.
import { randomUUID } from 'node:crypto';
import type { AlertingConfig } from '../config/schema.js';
import { cronNextDue } from '../scheduler/cron.js';
import { matchesLabels, type Matchers } from './route.js';

export interface Silence {
  id: string;
  matchers: Record<string, string>;
  startsAt: number;
  endsAt: number;
  comment: string;
  createdBy: string;
}

export function newSilence(input: { matchers: Record<string, string>; startsAt: number; endsAt: number; comment: string; createdBy: string }): Silence {
  return { id: randomUUID(), ...input };
}

type Window = AlertingConfig['maintenance'][number];

/** Whether a maintenance window is open at `now`: its last start was less than `duration` ago. */
export function windowOpen(window: Window, now: number): boolean {
  const next = cronNextDue(window.cron, window.timezone);
  return next(now - window.duration) <= now;
}

/** Why `labels` are muted at `now`, or undefined when they are not. */
export function mutedBy(labels: Readonly<Record<string, string>>, now: number, windows: readonly Window[], silences: readonly Silence[]): string | undefined {
  for (const w of windows) if (matchesLabels(labels, w.match as Matchers) && windowOpen(w, now)) return `maintenance ${w.name}`;
  for (const s of silences) if (s.startsAt <= now && now < s.endsAt && matchesLabels(labels, s.matchers)) return `silence ${s.id}`;
  return undefined;
}
