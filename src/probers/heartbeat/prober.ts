// heartbeat prober: nothing is sent; the run judges the pings the daemon was sent (ctx.pings)
// at this moment. Missed: no ping within the cadence and its grace. Failed: the last ping said
// the job failed. Both headlines say what was expected and when the last ping came.
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import type { CheckResult, ProbeContext, ProberOutcome } from '../types.js';
import type { PingRecord } from './book.js';
import { utcMinute, type HeartbeatDetail } from './kind.js';

export async function probeHeartbeat(spec: ProbeSpec<'heartbeat'>, ctx: ProbeContext): Promise<ProberOutcome> {
  return judge(spec, ctx.pings?.(spec.name), ctx.now?.() ?? Date.now());
}

/** The verdict on a heartbeat's pings at `now` (pure: tested on a made-up timeline). A heartbeat
 * the daemon does not know (`flowprobe probe` outside it) is judged as set up now. */
export function judge(spec: ProbeSpec<'heartbeat'>, record: PingRecord | undefined, now: number): ProberOutcome {
  const { pings: cadence } = spec;
  const since = record?.since ?? now;
  const last = record?.last;
  const detail: HeartbeatDetail = { kind: 'heartbeat', cadence: cadence.text, lastAt: last?.at, lastStatus: last?.status, lastMessage: last?.message, lastDurationMs: last?.durationMs, dueBy: undefined, pings: record?.pings ?? 0 };
  const lastText = last ? `last at ${utcMinute(last.at)}` : 'none yet';
  const checks: CheckResult[] = [];
  if (cadence.type === 'every') {
    detail.dueBy = (last?.at ?? since) + cadence.everyMs + cadence.graceMs;
    const quiet = now - (last?.at ?? since);
    const ok = now <= detail.dueBy;
    const c = check('ping', ok, `within ${formatDuration(cadence.everyMs + cadence.graceMs)}`, last ? `${formatDuration(now - last.at)} ago` : 'none');
    const headline = last
      ? `no ping from ${spec.name} for ${formatDuration(quiet)} (expected every ${formatDuration(cadence.everyMs)} ± ${formatDuration(cadence.graceMs)}); ${lastText}`
      : `no ping from ${spec.name} in the ${formatDuration(quiet)} since it was set up at ${utcMinute(since)} (expected every ${formatDuration(cadence.everyMs)} ± ${formatDuration(cadence.graceMs)})`;
    checks.push(ok ? c : { ...c, code: 'missed', headline });
  } else {
    // The run due most recently whose grace is over must have its ping (one that came up to
    // a grace early counts: a job may start before its slot).
    const due = cadence.cron.previous(now - cadence.graceMs);
    const next = cadence.cron.next(due ?? now - cadence.graceMs);
    detail.dueBy = next + cadence.graceMs;
    const owed = due !== undefined && due >= since;
    const ok = !owed || (last !== undefined && last.at >= (due as number) - cadence.graceMs);
    const c = check('ping', ok, owed ? `a ping for the run due at ${utcMinute(due as number)}` : 'none due yet', last ? utcMinute(last.at) : 'none');
    checks.push(ok ? c : { ...c, code: 'missed', headline: `no ping from ${spec.name} for the run due at ${utcMinute(due as number)} (${cadence.text}); ${lastText}` });
  }
  if (last) {
    const c = check('last ping status', last.status === 'ok', 'ok', last.status);
    checks.push(last.status === 'ok' ? c : { ...c, headline: `${spec.name} reported a failure at ${utcMinute(last.at)}${last.message ? `: ${last.message}` : ''}${last.durationMs === undefined ? '' : ` (ran ${formatDuration(last.durationMs)})`}` });
    const ran = checkLimit('job duration', last.durationMs, { fail: spec.expect.maxDuration, degrade: spec.degradeWhen.maxDuration }, 'duration');
    checks.push(...limitChecks([ran && !ran.ok ? { ...ran, headline: `${spec.name} ran ${formatDuration(last.durationMs ?? 0)} at ${utcMinute(last.at)}, over ${formatDuration(spec.expect.maxDuration ?? 0)}` } : ran]));
  }
  return { failure: failureFromChecks(checks), phases: {}, checks, detail };
}
