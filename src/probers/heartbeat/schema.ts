// A heartbeat probe as written in a probe file: a job, consumer or cron task that cannot be
// polled checks in (POST /api/v1/heartbeats/NAME with its own token); the probe fails when no
// ping came within the cadence and its grace, or when the last ping said the job failed.
import { z } from 'zod';
import { cronExpression, DAY_MS, duration, timezone } from '../../config/fields.js';
import { formatDuration } from '../../config/units.js';
import { probeName, scheduleFields } from '../../config/probe-fields.js';
import { CronSchedule } from '../../scheduler/cron.js';

const HOUR_MS = 3_600_000;

/** When pings are due, compiled at load. */
export type PingCadence = ({ type: 'every'; everyMs: number } | { type: 'cron'; cron: CronSchedule }) & {
  graceMs: number;
  /** "every 24h ± 1h", "cron 0 2 * * * (UTC), grace 1h" */
  text: string;
};

const pings = z
  .strictObject({
    /** A ping at least this often… */
    every: duration(1_000, 400 * DAY_MS).optional(),
    /** …or one for each time this cron expression fires. */
    cron: cronExpression.optional(),
    timezone: timezone.optional(),
    /** How late a ping may be; 10 % of the period by default (at least 1s, at most 1h). */
    grace: duration(0, 30 * DAY_MS).optional(),
  })
  .transform((value, ctx): PingCadence => {
    if ((value.every === undefined) === (value.cron === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected either every (a ping at least this often) or cron (a ping for each time it fires), not both or neither' });
      return z.NEVER;
    }
    if (value.timezone !== undefined && value.cron === undefined) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'expected timezone only with cron' });
      return z.NEVER;
    }
    const defaultGrace = (periodMs: number) => Math.min(HOUR_MS, Math.max(1_000, Math.round(periodMs / 10)));
    if (value.every !== undefined) {
      const graceMs = value.grace ?? defaultGrace(value.every);
      return { type: 'every', everyMs: value.every, graceMs, text: `every ${formatDuration(value.every)} ± ${formatDuration(graceMs)}` };
    }
    const cron = CronSchedule.compile(value.cron as string, value.timezone);
    const first = cron.next(Date.now());
    const graceMs = value.grace ?? defaultGrace(cron.next(first) - first);
    return { type: 'cron', cron, graceMs, text: `cron ${cron.toJSON()}, grace ${formatDuration(graceMs)}` };
  });

export const heartbeatProbe = z.strictObject({
  name: probeName,
  kind: z.literal('heartbeat'),
  ...scheduleFields,
  /** What a ping must carry (Authorization: Bearer …); from the environment: `token: ${EXPORT_HEARTBEAT_TOKEN}`. */
  token: z.string({ error: 'expected a token (token: ${NAME_OF_AN_ENV_VAR})' }).min(16, { error: 'expected a token of at least 16 characters' }).max(4_096),
  pings,
  expect: z
    .strictObject({
      /** The duration the last ping reported (?duration=) within this. */
      maxDuration: duration(0, 30 * DAY_MS).optional(),
    })
    .default({}),
  degradeWhen: z.strictObject({ maxDuration: duration(0, 30 * DAY_MS).optional() }).default({}),
});
